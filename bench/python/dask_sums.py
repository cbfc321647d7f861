"""The Dask peer of `rpcpool column-sums` on two servers: a LocalCluster of two worker processes
with one thread each, mapping the same per-file pandas function as pandas_sums.py. The whole
process is timed by the bench (cluster start and stop included, as a user waits for them); this
script also prints the share of each stage.

    python3 bench/python/dask_sums.py FILE...
"""

import json
import sys
import time

started = time.perf_counter()
try:
    import pandas as pd  # noqa: F401  (the workers need it; fail here, not in a worker)
    from dask.distributed import Client, LocalCluster
except ImportError as error:
    print(json.dumps({"skipped": f"pandas or distributed is not installed for {sys.executable}: {error}"}))
    sys.exit(3)
imported = time.perf_counter()


def column_sums(path):
    import pandas as pd

    return pd.read_csv(path, sep=";", header=None).sum().tolist()


if __name__ == "__main__":
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    ready = time.perf_counter()
    sums = client.gather(client.map(column_sums, sys.argv[1:]))
    computed = time.perf_counter()
    client.close()
    cluster.close()
    closed = time.perf_counter()
    print(
        json.dumps(
            {
                "importSeconds": imported - started,
                "clusterStartSeconds": ready - imported,
                "computeSeconds": computed - ready,
                "closeSeconds": closed - computed,
                "sums": sums,
            }
        )
    )
