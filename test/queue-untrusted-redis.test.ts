import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { submitColumnSums } from "rpcpool/lesson";
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
 * The worker trusts nothing it reads from Redis (issue 17): jobs written there directly, not by
 * `submit`, that name another method, carry an input over the queue's limit, or are not JSON are
 * refused with a reason; and with a token, a result forged with one HSET is refused by `result`.
 * Real redis-server, a real rpcpool-server with --queue and --token-file.
 */

const circles = "/rpcpool.compute.v1.ComputeService/Circles";
const circlesQueue = "task.rpcpool.compute.v1.ComputeService.Circles";

const tmp = tempDir();
const tokenFile = tmp.file("token", "a-token-for-the-queue-test\n");
let redis: RedisProcess;
let direct: Redis;
let worker: QueueServer;
let queue: JobQueue;

/** A job's record as submit writes it, for a job whose tasks are written by hand. */
async function writeRecord(id: string, tasks = 1): Promise<void> {
  const meta = { id, kind: "written by hand", created: Date.now(), tasks, methods: [circles] };
  await direct.hset(`rpcpool:job:{${id}}`, "meta", JSON.stringify(meta), "keep", "600000");
}

/** Runs `write` with the Circles queue paused, so the worker sees the job only once it is written. */
async function whilePaused(write: (tasks: Queue) => Promise<void>): Promise<void> {
  const tasks = new Queue(circlesQueue, { connection: direct, prefix: "rpcpool" });
  try {
    await tasks.pause();
    await write(tasks);
    await tasks.resume();
  } finally {
    await tasks.close();
  }
}

/**
 * A BullMQ task's state and why it failed, read raw (its data may not parse), once it is finished:
 * its outcome is recorded just before BullMQ moves it (no deadline: the test's timeout guards).
 */
async function bullState(queueName: string, bullId: string) {
  const tasks = new Queue(queueName, { connection: direct, prefix: "rpcpool" });
  try {
    for (;;) {
      const state = await tasks.getJobState(bullId);
      if (state === "failed" || state === "completed") {
        const [reason, attempts] = await direct.hmget(
          `rpcpool:${queueName}:${bullId}`,
          "failedReason",
          "atm",
        );
        return { state, reason, attempts: Number(attempts) };
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await tasks.close();
  }
}

/** Peak and current resident memory of a process, from /proc (bytes). */
function memory(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)![1]) * 1024;
  return { peak: kib("VmHWM"), now: kib("VmRSS") };
}

describe.skipIf(noRedis)(
  `a worker and jobs written into Redis${noRedis ? `: skipped, ${noRedis}` : ""}`,
  () => {
    beforeAll(async () => {
      redis = await startRedis();
      direct = new Redis(redis.url, { maxRetriesPerRequest: null });
      worker = await startQueueServer(redis.url, ["--token-file", tokenFile]);
      queue = new JobQueue(redis.url);
    });
    afterAll(async () => {
      await queue?.close();
      direct?.disconnect();
      await worker?.kill("SIGKILL");
      await redis?.stop();
      tmp.cleanup();
    });

    it("refuses a task naming another method than its queue's, without running it", async () => {
      const id = randomUUID();
      await writeRecord(id);
      await whilePaused(async (tasks) => {
        // StoreService/Stats is no queue's method; this job sits on the Circles queue.
        const data = {
          job: id,
          method: "/rpcpool.pool.v1.StoreService/Stats",
          tasks: [{ index: 0, inline: [""] }],
        };
        await tasks.add("task", data, { jobId: `${id}-0`, attempts: 5 });
      });
      const result = await queue.job(id).result();
      expect(result.outcomes[0]).toMatchObject({
        ok: false,
        code: 7, // PERMISSION_DENIED
        message: expect.stringMatching(
          /names \/rpcpool\.pool\.v1\.StoreService\/Stats but is on the queue of .*Circles.*refused/,
        ),
      });
      const status = await rpcpool(["status", id, "--queue", redis.url, "--json"]);
      expect(status.json()).toMatchObject({ done: 0, failed: 1, finished: true });
      // Failed at once, for good: not retried.
      expect(await bullState(circlesQueue, `${id}-0`)).toMatchObject({ state: "failed", attempts: 1 });
    });

    it("refuses a task whose input is over the queue's limit before reading it: the worker's memory stays low", async () => {
      // 65 MiB (the limit is 64 MiB), stored by a client whose own limit was lifted.
      const big = tmp.file("big.csv", Buffer.alloc((65 << 20) + 4, "1;2\n"));
      const lifted = new JobQueue(redis.url, { limits: { maxTaskBytes: 1 << 30, maxJobBytes: 1 << 30 } });
      const before = memory(worker.child.pid!);
      try {
        const job = await submitColumnSums(lifted, [big]);
        const result = await job.result();
        expect(result.outcomes[0]).toMatchObject({
          ok: false,
          code: 8, // RESOURCE_EXHAUSTED
          message: expect.stringMatching(/task 1 is 65 MiB, more than the queue takes \(64 MiB\)/),
        });
      } finally {
        await lifted.close();
      }
      const after = memory(worker.child.pid!);
      // The input was never read into the worker: its peak did not grow by anything near 65 MiB.
      expect(after.peak - Math.max(before.peak, before.now), JSON.stringify({ before, after })).toBeLessThan(
        24 << 20,
      );
    });

    it("fails a task whose data or options in Redis are not JSON, saying so, instead of leaving it active", async () => {
      const ids = [randomUUID(), randomUUID()];
      for (const id of ids) await writeRecord(id);
      await whilePaused(async (tasks) => {
        for (const id of ids) {
          await tasks.add(
            "task",
            { job: id, method: circles, tasks: [{ index: 0, inline: [""] }] },
            { jobId: `${id}-0` },
          );
        }
        await direct.hset(`rpcpool:${circlesQueue}:${ids[0]}-0`, "data", "{not json");
        await direct.hset(`rpcpool:${circlesQueue}:${ids[1]}-0`, "opts", "{not json");
      });
      for (const [i, what] of ["data in Redis is", "opts in Redis are"].entries()) {
        const result = await queue.job(ids[i]!).result();
        expect(result.outcomes[0]).toMatchObject({
          ok: false,
          code: 3, // INVALID_ARGUMENT
          message: `the task's record is malformed: its ${what} not JSON; refused`,
        });
        const state = await bullState(circlesQueue, `${ids[i]}-0`);
        expect(state.state).toBe("failed");
        expect(state.reason).toContain(`its ${what} not JSON`);
        const status = await rpcpool(["status", ids[i]!, "--queue", redis.url, "--json"]);
        expect(status.json()).toMatchObject({ failed: 1, finished: true });
      }
    });

    it("refuses, given the token, a result forged with an HSET", async () => {
      const submit = async (radii: string) => {
        const run = await rpcpool(["submit", "circles", "--radii", radii, "--queue", redis.url, "--json"]);
        expect(run.code, run.stderr).toBe(0);
        return run.json().job as string;
      };
      const [honest, other] = [await submit("1,2"), await submit("5,6")];
      const result = (id: string, token: boolean) =>
        rpcpool([
          "result",
          id,
          "--queue",
          redis.url,
          "--wait",
          "--json",
          ...(token ? ["--token-file", tokenFile] : []),
        ]);
      const good = await result(honest, true);
      expect(good.code, good.stderr).toBe(0);
      expect(good.json().radii).toEqual([1, 2]);
      const theOther = await result(other, true);
      expect(theOther.code, theOther.stderr).toBe(0);

      // Another job's reply, then with its signature too: neither is this task's.
      const reply = await direct.hgetBuffer(`rpcpool:job:{${other}}`, "r:0");
      const signature = await direct.hgetBuffer(`rpcpool:job:{${other}}`, "s:0");
      await direct.hset(`rpcpool:job:{${honest}}`, "r:0", reply!);
      const forged = await result(honest, false);
      // Without the token, the forgery goes unseen: radii 1 and 2, the other job's lengths.
      expect(forged.json()).toMatchObject({ radii: [1, 2], lengths: theOther.json().lengths });
      for (const withSignature of [false, true]) {
        if (withSignature) await direct.hset(`rpcpool:job:{${honest}}`, "s:0", signature!);
        const refused = await result(honest, true);
        expect(refused.code).toBe(1);
        expect(refused.json().errors[0]).toMatchObject({
          code: "DATA_LOSS",
          message: expect.stringMatching(
            /the outcome of task 1 is not signed with the servers' token.*refused/,
          ),
        });
      }
    });
  },
);
