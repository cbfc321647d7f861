import { Queue } from "bullmq";
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

/**
 * Tasks that ride together in one BullMQ job each keep their own fate (issue 16): each outcome is
 * recorded as its task finishes, so a hung task does not hide its chunk-mates' results, and a
 * worker SIGKILLed mid-job costs only the unfinished tasks: the finished ones are not run again.
 * Real redis-server, real rpcpool-server processes.
 */

const sleep = "/rpcpool.compute.v1.DemoService/Sleep";

/** A SleepRequest's proto bytes: field 1 (milliseconds), a varint. */
function sleepRequest(ms: number): Buffer {
  const bytes = [0x08];
  for (let n = ms; ; n = Math.floor(n / 128)) {
    if (n < 128) {
      bytes.push(n);
      break;
    }
    bytes.push((n % 128) | 0x80);
  }
  return Buffer.from(bytes);
}

/** The Sleep method's task queue in BullMQ, to look at (or clear) its tasks. */
const sleepTasks = () =>
  new Queue("task.rpcpool.compute.v1.DemoService.Sleep", {
    connection: { host: "127.0.0.1", port: redis.port },
    prefix: "rpcpool",
  });

let redis: RedisProcess;
const servers: QueueServer[] = [];
const start = async () => {
  const server = await startQueueServer(redis.url);
  servers.push(server);
  return server;
};

/**
 * Waits (no deadline of its own: the test's timeout is the hang guard) until `count` tasks have
 * settled. Until the first one only, the quick tasks' status was read between their ends (done: 1
 * of 3, seen once under load).
 */
async function settled(queue: JobQueue, id: string, count: number) {
  for (;;) {
    const status = await queue.status(id);
    if (status.done + status.failed >= count) return status;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.skipIf(noRedis)(`tasks of one BullMQ job${noRedis ? `: skipped, ${noRedis}` : ""}`, () => {
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill("SIGKILL")));
    await redis?.stop();
  });

  it("shows the finished tasks' results while one of their chunk-mates hangs", async () => {
    const worker = await start();
    const queue = new JobQueue(redis.url);
    try {
      const ms = [0, 0, 600_000, 0];
      const job = await queue.submit(
        ms.map((m) => ({ method: sleep, requests: [sleepRequest(m)] })),
        { kind: "sleeps", chunkTasks: ms.length },
      );
      // One BullMQ job carries the four tasks.
      expect(job.meta?.chunk).toEqual([0, 0, 0, 0]);
      await settled(queue, job.id, 3);
      const status = await rpcpool(["status", job.id, "--queue", redis.url, "--json"]);
      expect(status.code, status.stderr).toBe(0);
      expect(status.json()).toMatchObject({ tasks: 4, done: 3, running: 1, waiting: 0, finished: false });
      const early = await rpcpool(["result", job.id, "--queue", redis.url, "--json"]);
      expect(early.code).toBe(1);
      expect(early.json().errors[0].message).toMatch(/3 of 4 tasks settled \(1 running/);
    } finally {
      await queue.close();
      await worker.kill("SIGKILL");
      // The hung task would be taken again by the next test's workers.
      const tasks = sleepTasks();
      await tasks.obliterate({ force: true });
      await tasks.close();
    }
  });

  it("does not run again the tasks that finished before their worker was SIGKILLed, and completes the job", async () => {
    for (const server of servers.splice(0)) await server.kill("SIGKILL");
    const doomed = await start();
    const queue = new JobQueue(redis.url);
    try {
      // Three quick tasks and one that sleeps long enough for the worker to be killed in it.
      const ms = [0, 0, 0, 4_000];
      const job = await queue.submit(
        ms.map((m) => ({ method: sleep, requests: [sleepRequest(m)] })),
        { kind: "sleeps", chunkTasks: ms.length },
      );
      const status = await settled(queue, job.id, 3);
      expect(status).toMatchObject({ done: 3, running: 1, finished: false });
      await doomed.kill("SIGKILL");
      const survivor = await start();
      const result = await job.result();
      expect(result.outcomes.map((o) => o.ok)).toEqual([true, true, true, true]);
      // Each reply names the server that ran it (SleepResponse.served_by): the three finished
      // tasks were not run again by the survivor; only the one the kill interrupted was.
      const ranOn = result.outcomes.map((o) => {
        const reply = o.ok ? o.response : Buffer.alloc(0);
        if (reply.includes(doomed.address)) return "doomed";
        return reply.includes(survivor.address) ? "survivor" : "?";
      });
      expect(ranOn).toEqual(["doomed", "doomed", "doomed", "survivor"]);
      const tasks = sleepTasks();
      try {
        const task = await tasks.getJob(`${job.id}-0`);
        expect(task?.stalledCounter).toBeGreaterThanOrEqual(1);
      } finally {
        await tasks.close();
      }
    } finally {
      await queue.close();
    }
  });
});
