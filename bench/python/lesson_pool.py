"""The lesson's own code (unit on parallel programming, `procesar_tabla` with Pool), run on the
files given instead of glob("*.csv"), with Pool(2) for this 2-core machine. The function is the
lesson's, unchanged: numpy genfromtxt, transpose with zip, sum each row of the transpose.

    python3 bench/python/lesson_pool.py FILE...
"""

import json
import sys
import time
from multiprocessing import Pool

started = time.perf_counter()
try:
    from numpy import genfromtxt
except ImportError as error:
    print(json.dumps({"skipped": f"numpy is not installed for {sys.executable}: {error}"}))
    sys.exit(3)
imported = time.perf_counter()


def procesar_tabla(archivo):
    tablas = genfromtxt(archivo, delimiter=";")
    traspuesta = [list(x) for x in zip(*tablas)]  # tabla de datos traspuesta
    suma_filas = [sum(fila) for fila in traspuesta]
    return suma_filas


if __name__ == "__main__":
    p = Pool(2)
    tiempo_inicial = time.perf_counter()
    resultados = p.map(procesar_tabla, sys.argv[1:])
    tiempo_final = time.perf_counter()
    p.close()
    p.join()
    print(
        json.dumps(
            {
                "importSeconds": imported - started,
                "mapSeconds": tiempo_final - tiempo_inicial,
                "sums": [[float(s) for s in sums] for sums in resultados],
            }
        )
    )
