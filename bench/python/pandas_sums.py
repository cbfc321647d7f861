"""The pandas peer of `rpcpool column-sums`: read_csv(...).sum() over each file, one after
another, in one process on one core. Prints one JSON line: the sums and where the time went.

    python3 bench/python/pandas_sums.py FILE...
"""

import json
import sys
import time

started = time.perf_counter()
try:
    import pandas as pd
except ImportError as error:  # the bench prints the reason and skips this peer
    print(json.dumps({"skipped": f"pandas is not installed for {sys.executable}: {error}"}))
    sys.exit(3)
imported = time.perf_counter()

sums = [pd.read_csv(path, sep=";", header=None).sum().tolist() for path in sys.argv[1:]]
done = time.perf_counter()
print(
    json.dumps(
        {
            "importSeconds": imported - started,
            "computeSeconds": done - imported,
            "pandas": pd.__version__,
            "sums": sums,
        }
    )
)
