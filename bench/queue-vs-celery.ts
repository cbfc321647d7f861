// npm run bench -- --queue: many small tasks (the mean of a short list) through rpcpool's queue
// (BullMQ on Redis, rpcpool servers as the workers) against Celery with a Redis broker and result
// backend, on the same machine and the same Redis, with the same number of worker processes.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { computeMethods } from "rpcpool/lesson";
import { JobQueue } from "rpcpool/queue";
import type { Figure } from "./figures.js";
import { median, startServerProcess } from "./whole-process.js";

const pythonDir = fileURLToPath(new URL("../../bench/python/", import.meta.url));
const python =
  process.env.RPCPOOL_BENCH_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");

export interface QueueBenchOptions {
  /** Tasks of the throughput run. */
  tasks: number;
  /** Single tasks timed one after the other, for the latency. */
  samples: number;
  /** Worker processes on each side: rpcpool servers with one worker thread, Celery prefork children. */
  workers: number;
  say: (line: string) => void;
  /** More rpcpool-server flags (e.g. --queue-concurrency 8). */
  serverArgs?: string[];
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  server.close();
  return port;
}

async function startRedis(): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let text = "";
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      text += d;
      if (text.includes("Ready to accept connections")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`redis-server exited ${code}: ${text}`)));
  });
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill("SIGKILL") };
}

const lists = (n: number) => Array.from({ length: n }, (_, i) => [i % 97, (i % 89) + 0.5, 3.25, i % 7]);

/** rpcpool's side: `workers` servers take the tasks; one job of `tasks` tasks, then single-task jobs. */
async function rpcpoolSide(url: string, options: QueueBenchOptions) {
  const servers = await Promise.all(
    Array.from({ length: options.workers }, () =>
      startServerProcess(["--workers", "1", "--queue", `${url}/0`, ...(options.serverArgs ?? [])]),
    ),
  );
  const queue = new JobQueue(`${url}/0`);
  const means = computeMethods.means!;
  const task = (values: number[]) => ({
    method: means.path,
    requests: [means.requestSerialize({ lists: [{ values }] })],
  });
  try {
    await (await queue.submit([task([1, 2])], { keepMs: 3_600_000 })).result();
    const items = lists(options.tasks);
    const start = performance.now();
    const job = await queue.submit(items.map(task), { keepMs: 3_600_000 });
    const result = await job.result();
    const seconds = (performance.now() - start) / 1000;
    result.outcomes.forEach((outcome, i) => {
      const values = items[i]!;
      const expected = values.reduce((a, b) => a + b, 0) / values.length;
      if (!outcome.ok || means.responseDeserialize(outcome.response).means[0] !== expected) {
        throw new Error(`rpcpool's queue returned a wrong mean for task ${i}`);
      }
    });
    const latencies: number[] = [];
    for (let i = 0; i < options.samples; i++) {
      const t0 = performance.now();
      await (await queue.submit([task([i, 2, 3])], { keepMs: 3_600_000 })).result();
      latencies.push(performance.now() - t0);
    }
    return { tasksPerSecond: options.tasks / seconds, latencyMs: median(latencies) };
  } finally {
    await queue.close();
    await Promise.all(servers.map((s) => s.stop()));
  }
}

/** Celery's side: one prefork worker with `workers` children, driven by bench/python/celery_tasks.py. */
async function celerySide(url: string, options: QueueBenchOptions) {
  const env = { ...process.env, CELERY_QUEUE_URL: `${url}/1`, PYTHONPATH: pythonDir };
  const worker: ChildProcess = spawn(
    python,
    [
      "-m",
      "celery",
      "-A",
      "celery_tasks",
      "worker",
      "--pool",
      "prefork",
      "--concurrency",
      String(options.workers),
      "--without-gossip",
      "--without-mingle",
      "--without-heartbeat",
      "--loglevel",
      "WARNING",
    ],
    { env, cwd: pythonDir, stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  worker.stderr!.on("data", (d) => {
    stderr += d;
  });
  try {
    const run = spawnSync(python, ["celery_tasks.py", String(options.tasks), String(options.samples)], {
      env,
      cwd: pythonDir,
      encoding: "utf8",
      timeout: 15 * 60_000,
    });
    const line = run.stdout.trim().split("\n").at(-1) ?? "";
    if (run.status !== 0 || !line.startsWith("{")) {
      throw new Error(
        `the Celery driver failed (${run.status}): ${run.stderr.slice(-500)}\nworker: ${stderr.slice(-500)}`,
      );
    }
    const document = JSON.parse(line) as { tasks_per_s: number; latency_ms: number };
    return { tasksPerSecond: document.tasks_per_s, latencyMs: document.latency_ms };
  } finally {
    worker.kill("SIGTERM");
    const timer = setTimeout(() => worker.kill("SIGKILL"), 10_000);
    await once(worker, "exit");
    clearTimeout(timer);
  }
}

/** Why Celery's side cannot run here, or undefined. */
export function celeryMissing(): string | undefined {
  if (spawnSync("redis-server", ["--version"]).error)
    return "redis-server is not installed (apt-get install redis-server)";
  const probe = spawnSync(python, ["-c", "import celery, redis"], { encoding: "utf8" });
  if (probe.status !== 0)
    return `${python} lacks celery or redis (apt-get install python3-celery python3-redis)`;
  return undefined;
}

export async function queueVsCelery(options: QueueBenchOptions): Promise<Figure[]> {
  if (spawnSync("redis-server", ["--version"]).error) {
    options.say("  skipped: redis-server is not installed (apt-get install redis-server)");
    return [];
  }
  const redis = await startRedis();
  try {
    options.say(
      `  ${options.tasks} tasks, ${options.samples} latency samples, ${options.workers} worker processes a side`,
    );
    const ours = await rpcpoolSide(redis.url, options);
    const figures: Figure[] = [
      { name: "queue: rpcpool tasks/s", value: ours.tasksPerSecond, unit: "tasks/s" },
      {
        name: "queue: rpcpool submit-to-result latency, one task (median)",
        value: ours.latencyMs,
        unit: "ms",
      },
    ];
    const missing = celeryMissing();
    if (missing) {
      options.say(`  Celery: skipped (${missing})`);
      return figures;
    }
    const celery = await celerySide(redis.url, options);
    figures.push(
      { name: "queue: Celery tasks/s", value: celery.tasksPerSecond, unit: "tasks/s" },
      {
        name: "queue: Celery submit-to-result latency, one task (median)",
        value: celery.latencyMs,
        unit: "ms",
      },
      {
        name: "queue: rpcpool tasks/s over Celery's",
        value: ours.tasksPerSecond / celery.tasksPerSecond,
        unit: "x",
        target: { value: 3, kind: "min" },
      },
      {
        name: "queue: rpcpool latency over Celery's",
        value: ours.latencyMs / celery.latencyMs,
        unit: "x",
        target: { value: 1, kind: "max" },
      },
    );
    return figures;
  } finally {
    redis.stop();
  }
}
