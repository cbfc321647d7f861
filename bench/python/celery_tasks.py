"""The Celery side of `npm run bench -- --queue` (bench/queue-vs-celery.ts).

As a Celery app (``celery -A celery_tasks worker``): one task, the mean of a short list, exactly
rounded (math.fsum), the task rpcpool's queue runs through ComputeService/Means. Broker and
result backend are the same Redis, named by CELERY_QUEUE_URL.

As a script (``python3 celery_tasks.py TASKS SAMPLES``): submits TASKS tasks and waits for all
their results (throughput), then SAMPLES single tasks one after the other (submit-to-result
latency), and prints one JSON line.
"""

import json
import math
import os
import statistics
import sys
import time

from celery import Celery

url = os.environ.get("CELERY_QUEUE_URL", "redis://127.0.0.1:6379/1")
app = Celery("celery_tasks", broker=url, backend=url)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_expires=3600,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task(name="mean")
def mean(values):
    return math.fsum(values) / len(values)


def lists(n):
    return [[float(i % 97), float(i % 89) + 0.5, 3.25, float(i % 7)] for i in range(n)]


def drive(tasks, samples):
    # Warm up: the workers are up and have their connections.
    mean.delay([1.0, 2.0]).get(timeout=60)
    items = lists(tasks)
    start = time.perf_counter()
    pending = [mean.delay(values) for values in items]
    results = [p.get(timeout=600) for p in pending]
    elapsed = time.perf_counter() - start
    expected = [math.fsum(v) / len(v) for v in items]
    if results != expected:
        raise SystemExit("celery returned wrong means")
    latencies = []
    for i in range(samples):
        t0 = time.perf_counter()
        mean.delay([float(i), 2.0, 3.0]).get(timeout=60)
        latencies.append((time.perf_counter() - t0) * 1000)
    print(
        json.dumps(
            {
                "tasks": tasks,
                "seconds": elapsed,
                "tasks_per_s": tasks / elapsed,
                "latency_ms": statistics.median(latencies),
            }
        )
    )


if __name__ == "__main__":
    drive(int(sys.argv[1]), int(sys.argv[2]))
