import { join } from "node:path";
import { JobQueue } from "rpcpool/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  noRedis,
  type QueueServer,
  type RedisProcess,
  startQueueServer,
  startRedis,
} from "./support/redis-server.js";
import { rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

/**
 * The controls on a durable job (docs/queue.md, issue 20): cancel (a running task aborted on its
 * server, its worker thread too, the worker free again), a submission key, a delay, a reduce step
 * (`--total`, a BullMQ flow). Real redis-server, real rpcpool-server processes with --queue and one
 * worker thread each; the CLI as users run it.
 */

const tmp = tempDir();
const demo = "/rpcpool.compute.v1.DemoService";

/** A message of one varint field 1 (SleepRequest.milliseconds, SpinRequest.iterations). */
function varintField(n: number): Buffer {
  const bytes = [0x08];
  for (let rest = n; ; rest = Math.floor(rest / 128)) {
    if (rest < 128) {
      bytes.push(rest);
      break;
    }
    bytes.push((rest % 128) | 0x80);
  }
  return Buffer.from(bytes);
}

let redis: RedisProcess;
let server: QueueServer;
let queue: JobQueue;
const cli = (args: string[]) => rpcpool([...args, "--queue", redis.url]);

/** Polls `status --json` (no deadline of its own: the test's timeout is the hang guard). */
async function untilState(id: string, wanted: (status: any) => boolean) {
  for (;;) {
    const run = await cli(["status", id, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const status = run.json();
    if (wanted(status)) return status;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(noRedis)(`job controls${noRedis ? `: skipped, ${noRedis}` : ""}`, () => {
  beforeAll(async () => {
    redis = await startRedis();
    server = await startQueueServer(redis.url);
    queue = new JobQueue(redis.url);
  });
  afterAll(async () => {
    await queue?.close();
    await server?.kill("SIGKILL");
    await redis?.stop();
    tmp.cleanup();
  });

  it("cancels a running task: its handler is aborted, the worker is free, status says cancelled, result exits 1", async () => {
    // One worker slot per method on this server: a 60 s sleep holds Sleep's.
    const job = await queue.submit([{ method: `${demo}/Sleep`, requests: [varintField(60_000)] }], {
      kind: "sleep",
    });
    await untilState(job.id, (s) => s.running === 1);
    // A client waiting for the result hears of the cancel at once.
    const waiting = job.result().catch((error: unknown) => error);
    const cancelled = await cli(["cancel", job.id, "--json"]);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.json()).toEqual({ job: job.id, cancelled: 1 });
    expect(await waiting).toMatchObject({ codeName: "CANCELLED" });
    const status = await cli(["status", job.id, "--json"]);
    expect(status.json()).toMatchObject({ state: "cancelled", cancelled: 1, failed: 0, finished: true });
    const result = await cli(["result", job.id, "--wait"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/CANCELLED: job .* was cancelled/);
    // The slot is free: another sleep on the same queue completes (long before the 60 s).
    const next = await queue.submit([{ method: `${demo}/Sleep`, requests: [varintField(0)] }]);
    const outcome = await next.result();
    expect(outcome.outcomes[0]?.ok).toBe(true);
    // Cancelling again does nothing.
    expect(await job.cancel()).toBe(0);
  });

  it("reaches every server: tasks of one job running on two servers are both aborted", async () => {
    const other = await startQueueServer(redis.url);
    try {
      // Two tasks, one BullMQ job each: one on each server (each runs one Sleep at a time).
      const job = await queue.submit(
        [0, 1].map(() => ({ method: `${demo}/Sleep`, requests: [varintField(60_000)] })),
        { chunkTasks: 1 },
      );
      await untilState(job.id, (s) => s.running === 2);
      expect(await job.cancel()).toBe(2);
      // Each server stopped its sleep: neither task is active any more (completed, or removed by
      // the cancel once completed; polled, the test's timeout is the hang guard), long before 60 s.
      const { Queue } = await import("bullmq");
      const tasks = new Queue("task.rpcpool.compute.v1.DemoService.Sleep", {
        connection: { host: "127.0.0.1", port: redis.port },
        prefix: "rpcpool",
      });
      try {
        for (const bullId of [`${job.id}-0`, `${job.id}-1`]) {
          while ((await tasks.getJobState(bullId)) === "active")
            await new Promise((resolve) => setTimeout(resolve, 20));
        }
      } finally {
        await tasks.close();
      }
      // Both slots free: two sleeps at once finish.
      const next = await queue.submit(
        [0, 1].map(() => ({ method: `${demo}/Sleep`, requests: [varintField(0)] })),
        { chunkTasks: 1 },
      );
      expect((await next.result()).outcomes.map((o) => o.ok)).toEqual([true, true]);
    } finally {
      await other.kill("SIGKILL");
    }
  });

  it("cancels a task running on the server's worker thread: the thread is free for the next job", async () => {
    // Spin runs on a worker thread (the server has one): 10^12 iterations would hold it for hours.
    const job = await queue.submit([{ method: `${demo}/Spin`, requests: [varintField(1e12)] }]);
    await untilState(job.id, (s) => s.running === 1);
    expect(await job.cancel()).toBe(1);
    const spin = await queue.submit([{ method: `${demo}/Spin`, requests: [varintField(1000)] }]);
    expect((await spin.result()).outcomes[0]?.ok).toBe(true);
    const circles = await cli(["submit", "circles", "--radii", "1,2", "--json"]);
    const done = await cli(["result", circles.json().job, "--wait", "--json"]);
    expect(done.code, done.stderr).toBe(0);
    expect(done.json().lengths).toHaveLength(2);
  });

  it("cancels a waiting job: its tasks leave the queue and never run", async () => {
    const held = await queue.submit([{ method: `${demo}/Sleep`, requests: [varintField(60_000)] }]);
    await untilState(held.id, (s) => s.running === 1);
    const waiting = await queue.submit([{ method: `${demo}/Sleep`, requests: [varintField(0)] }]);
    expect((await waiting.status()).state).toBe("waiting");
    expect(await waiting.cancel()).toBe(1);
    // A flow (a reduce step, the parent of its tasks in BullMQ) leaves the queue whole.
    const flow = await queue.submit([{ method: `${demo}/Sleep`, requests: [varintField(0)] }], {
      // biome-ignore lint/suspicious/noThenProperty: the API's name for the reduce step (a method's path, not a function)
      then: `${demo}/Sleep`,
    });
    expect(await flow.status()).toMatchObject({ state: "waiting", tasks: 2 });
    expect(await flow.cancel()).toBe(2);
    const { Queue } = await import("bullmq");
    const tasks = new Queue("task.rpcpool.compute.v1.DemoService.Sleep", {
      connection: { host: "127.0.0.1", port: redis.port },
      prefix: "rpcpool",
    });
    try {
      for (const bullId of [`${waiting.id}-0`, `${flow.id}-0`, `${flow.id}-1`])
        expect(await tasks.getJob(bullId), bullId).toBeUndefined();
    } finally {
      await tasks.close();
    }
    expect(await held.cancel()).toBe(1);
    await expect(waiting.result()).rejects.toMatchObject({ codeName: "CANCELLED" });
    const finished = await cli(["cancel", (await queue.submit([{ failed: { code: 5, message: "x" } }])).id]);
    expect(finished.code).toBe(1);
    expect(finished.stderr).toMatch(/FAILED_PRECONDITION: job .* has finished/);
  });

  it("aborts a task of a cancelled job that a worker takes after the cancel was published (the job's mark)", async () => {
    const { Queue } = await import("bullmq");
    const tasks = new Queue("task.rpcpool.compute.v1.DemoService.Sleep", {
      connection: { host: "127.0.0.1", port: redis.port },
      prefix: "rpcpool",
    });
    try {
      // Delayed, so that no worker takes it before the cancel.
      const job = await queue.submit([{ method: `${demo}/Sleep`, requests: [varintField(600_000)] }], {
        delayMs: 60_000,
      });
      const record = await tasks.getJob(`${job.id}-0`);
      expect(await job.cancel()).toBe(1);
      expect(await tasks.getJob(`${job.id}-0`)).toBeUndefined();
      // As if a worker had taken it between the cancel's message and its removal from the queue.
      await tasks.add("task", record!.data, { jobId: `${job.id}-0` });
      // Taken first (no priority), it finds the job's mark and stops: the slot is free again.
      const next = await queue.submit([{ method: `${demo}/Sleep`, requests: [varintField(0)] }]);
      expect((await next.result()).outcomes[0]?.ok).toBe(true);
      expect(await tasks.getJobState(`${job.id}-0`)).toBe("completed");
      await expect(job.result()).rejects.toMatchObject({ codeName: "CANCELLED" });
    } finally {
      await tasks.close();
    }
  });

  it("gives the same job for the same --key, and runs it once", async () => {
    const args = ["submit", "circles", "--radii", "3", "--key", "nightly-circles", "--json"];
    const first = await cli(args);
    const second = await cli(args);
    expect(first.code, first.stderr).toBe(0);
    expect(second.json().job).toBe(first.json().job);
    const id = first.json().job;
    const result = await cli(["result", id, "--wait", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const third = await cli(args);
    expect(third.json().job).toBe(id);
    // Run once: the job has one task, settled once, and BullMQ ran it once.
    expect((await queue.status(id)).tasks).toBe(1);
    const { Queue } = await import("bullmq");
    const tasks = new Queue("task.rpcpool.compute.v1.ComputeService.Circles", {
      connection: { host: "127.0.0.1", port: redis.port },
      prefix: "rpcpool",
    });
    try {
      expect((await tasks.getJob(`${id}-0`))?.attemptsMade).toBe(1);
      expect(await tasks.getJob(`${id}-1`)).toBeUndefined();
    } finally {
      await tasks.close();
    }
    const other = await cli(["submit", "circles", "--radii", "3", "--key", "another", "--json"]);
    expect(other.json().job).not.toBe(id);
  });

  it("holds a --delay job as delayed, then runs it", async () => {
    const submitted = await cli(["submit", "circles", "--radii", "1", "--delay", "2000", "--json"]);
    expect(submitted.code, submitted.stderr).toBe(0);
    const id = submitted.json().job;
    // Asked in-process at once (a CLI run's start-up could take a good part of the 2 s).
    expect(await queue.status(id)).toMatchObject({ state: "delayed", delayed: 1, waiting: 1, done: 0 });
    const done = await untilState(id, (s) => s.finished);
    expect(done).toMatchObject({ state: "done", done: 1, delayed: 0 });
  });

  it("takes waiting tasks highest --priority first", async () => {
    const held = await queue.submit([{ method: `${demo}/Sleep`, requests: [varintField(60_000)] }]);
    await untilState(held.id, (s) => s.running === 1);
    // 30 ms each, one at a time: their start times (BullMQ's, in ms) differ.
    const sleep = (priority?: number) =>
      queue.submit([{ method: `${demo}/Sleep`, requests: [varintField(30)] }], { priority });
    const low = await sleep(-5);
    const plain = await sleep();
    const high = await sleep(5);
    expect(await held.cancel()).toBe(1);
    for (const job of [low, plain, high]) await job.result();
    const { Queue } = await import("bullmq");
    const tasks = new Queue("task.rpcpool.compute.v1.DemoService.Sleep", {
      connection: { host: "127.0.0.1", port: redis.port },
      prefix: "rpcpool",
    });
    try {
      const order = [];
      for (const [name, job] of Object.entries({ low, plain, high })) {
        const task = await tasks.getJob(`${job.id}-0`);
        order.push({ name, at: task?.processedOn ?? 0 });
      }
      expect(order.sort((x, y) => x.at - y.at).map((o) => o.name)).toEqual(["high", "plain", "low"]);
      // The CLI's flag, as BullMQ's lower-first priority.
      const submitted = await cli(["submit", "circles", "--radii", "1", "--priority", "7", "--json"]);
      const circles = new Queue("task.rpcpool.compute.v1.ComputeService.Circles", {
        connection: { host: "127.0.0.1", port: redis.port },
        prefix: "rpcpool",
      });
      expect((await circles.getJob(`${submitted.json().job}-0`))?.opts.priority).toBe(1001 - 7);
      await circles.close();
      const wrong = await cli(["submit", "circles", "--radii", "1", "--priority", "1001"]);
      expect(wrong.code).toBe(2);
    } finally {
      await tasks.close();
    }
  });

  it("repeats a job --every 2s until its schedule is cancelled", async () => {
    const submitted = await cli(["submit", "circles", "--radii", "2", "--every", "2s", "--json"]);
    expect(submitted.code, submitted.stderr).toBe(0);
    const schedule = submitted.json().schedule;
    expect(schedule).toMatch(/^schedule-/);
    // Polled until it has run twice (the test's timeout is the hang guard).
    let listed: any;
    for (;;) {
      const run = await cli(["jobs", "--schedules", "--json"]);
      expect(run.code, run.stderr).toBe(0);
      listed = run.json().schedules.find((s: any) => s.schedule === schedule);
      if (listed?.runs >= 2) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(listed).toMatchObject({ kind: "circles", every: 2000 });
    // Each run is a job of its own, with the command's result.
    const result = await cli(["result", listed.last, "--wait", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json().radii).toEqual([2]);
    const cancelled = await cli(["cancel", schedule, "--json"]);
    expect(cancelled.json()).toEqual({ schedule, cancelled: true });
    const after = await cli(["jobs", "--schedules", "--json"]);
    expect(after.json().schedules).toEqual([]);
    // No tick is left planned on BullMQ's schedules queue.
    const { Queue } = await import("bullmq");
    const ticks = new Queue("schedules", {
      connection: { host: "127.0.0.1", port: redis.port },
      prefix: "rpcpool",
    });
    try {
      expect(await ticks.getDelayedCount()).toBe(0);
      expect(await ticks.getJobSchedulersCount()).toBe(0);
    } finally {
      await ticks.close();
    }
  });

  it("reduces a column-sums job with --total to the synchronous command's exact total", async () => {
    const a = tmp.file("a.csv", "0.1;1e16\n0.2;1\n0.3;-1e16\n");
    const b = tmp.file("b.csv", "1e-10;2\n0.7;3.5\n");
    const sync = await rpcpool(["column-sums", a, b, "--total", "--json", "--servers", server.address]);
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.json().total).toMatchObject({ rows: 5, columns: 2 });
    for (const flag of [["--total"], ["--then", "rpcpool.compute.v1.ComputeService/MergeColumnSums"]]) {
      const submitted = await cli(["submit", "column-sums", a, b, ...flag, "--json"]);
      expect(submitted.code, submitted.stderr).toBe(0);
      const result = await cli(["result", submitted.json().job, "--wait", "--json"]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.json().total).toEqual(sync.json().total);
      expect(result.json().results.map((r: any) => r.sums)).toEqual(
        sync.json().results.map((r: any) => r.sums),
      );
    }
    // A file that fails: no total, as the synchronous command says.
    const missing = join(tmp.dir, "missing.csv");
    const syncFail = await rpcpool([
      "column-sums",
      a,
      missing,
      "--total",
      "--json",
      "--servers",
      server.address,
    ]);
    const submitted = await cli(["submit", "column-sums", a, missing, "--total", "--json"]);
    const result = await cli(["result", submitted.json().job, "--wait", "--json"]);
    expect(result.code).toBe(syncFail.code);
    expect(result.json().errors.map((e: any) => e.message)).toEqual(
      syncFail.json().errors.map((e: any) => e.message),
    );
  });
});
