import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import type { ClientError } from "rpcpool";
import { lessonTableBytes, submitColumnSums } from "rpcpool/lesson";
import { JobQueue } from "rpcpool/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  noRedis,
  type QueueServer,
  type RedisProcess,
  startQueueServer,
  startRedis,
} from "./support/redis-server.js";
import { clientProgram, collectRun, rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

/**
 * Durable jobs over a real redis-server and real rpcpool-server processes started with --queue
 * (docs/queue.md): the client may die after submit, a worker may be SIGKILLed mid-job, a job may
 * wait for its first worker; results equal the synchronous command's, bad input fails alike, and
 * results expire.
 */

const tmp = tempDir();
let redis: RedisProcess;
const servers: QueueServer[] = [];

const start = async (args: string[] = []) => {
  const server = await startQueueServer(redis.url, args);
  servers.push(server);
  return server;
};

/** Runs `rpcpool submit ...`, SIGKILLs it the moment it has printed the job's id, and returns the id. */
async function submitAndKill(args: string[]): Promise<string> {
  const child = spawn(process.execPath, [clientProgram, "submit", ...args, "--queue", redis.url, "--json"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  const id = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (d) => {
      stdout += d;
      const match = /\{"job":"([^"]+)"\}/.exec(stdout);
      if (match) {
        child.kill("SIGKILL");
        resolve(match[1]!);
      }
    });
    child.once("exit", (code) => {
      if (!/\{"job"/.test(stdout)) reject(new Error(`submit exited ${code} without an id: ${stdout}`));
    });
  });
  return id;
}

/** A method's task queue in BullMQ, to look at its tasks' history. */
async function taskQueue(method: string) {
  const { Queue } = await import("bullmq");
  return new Queue(`task.rpcpool.compute.v1.ComputeService.${method}`, {
    connection: { host: "127.0.0.1", port: redis.port },
    prefix: "rpcpool",
  });
}

/** A document without the names of the servers that computed it (the queue's are others). */
function withoutServers(document: { results?: Array<Record<string, unknown>> }) {
  return { ...document, results: document.results?.map(({ server: _server, ...rest }) => rest) };
}

describe.skipIf(noRedis)(
  `rpcpool submit / status / result over Redis${noRedis ? `: skipped, ${noRedis}` : ""}`,
  () => {
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      await Promise.all(servers.map((s) => s.kill("SIGKILL")));
      await redis?.stop();
      tmp.cleanup();
    });

    it("keeps a job submitted while no worker is up, its client killed after submit, until a worker starts", async () => {
      const files = [1, 2, 3].map((i) => tmp.file(`wait-${i}.csv`, lessonTableBytes(1000 * i)));
      const id = await submitAndKill(["column-sums", ...files]);
      const status = await rpcpool(["status", id, "--queue", redis.url, "--json"]);
      expect(status.code, status.stderr).toBe(0);
      expect(status.json()).toMatchObject({
        job: id,
        tasks: 3,
        waiting: 3,
        running: 0,
        done: 0,
        finished: false,
      });
      const early = await rpcpool(["result", id, "--queue", redis.url, "--json"]);
      expect(early.code).toBe(1);
      expect(early.json().errors[0].code).toBe("FAILED_PRECONDITION");

      const worker = await start();
      const result = await rpcpool(["result", id, "--queue", redis.url, "--wait", "--json"]);
      expect(result.code, result.stderr).toBe(0);
      const sync = await rpcpool(["column-sums", ...files, "--servers", worker.address, "--json"]);
      expect(result.json()).toEqual(sync.json());
      const jobs = await rpcpool(["jobs", "--queue", redis.url, "--json"]);
      expect(jobs.json().jobs).toContainEqual(expect.objectContaining({ job: id, done: 3, finished: true }));
    });

    it("gives bad input the synchronous command's errors, hints and exit code, without retrying it", async () => {
      const good = tmp.file("good.csv", "1;2\n3;4\n");
      const bad = tmp.file("bad.csv", "1;2\n3;x\n5;6\n");
      const missing = `${tmp.dir}/missing.csv`;
      const worker = servers[0] ?? (await start());
      for (const json of [true, false]) {
        const flag = json ? ["--json"] : [];
        const id = await submitAndKill(["column-sums", bad, good, missing]);
        const queued = await rpcpool(["result", id, "--queue", redis.url, "--wait", ...flag]);
        const sync = await rpcpool(["column-sums", bad, good, missing, "--servers", worker.address, ...flag]);
        expect(queued.code).toBe(1);
        expect(queued.code).toBe(sync.code);
        expect(queued.stdout).toBe(sync.stdout);
        expect(queued.stderr).toBe(sync.stderr);
      }
      // The unary commands too: a refused call is one error, exit code 1.
      const means = await submitAndKill(["means", "--lists", "[[1,2],[]]"]);
      const queued = await rpcpool(["result", means, "--queue", redis.url, "--wait", "--json"]);
      const sync = await rpcpool(["means", "--lists", "[[1,2],[]]", "--servers", worker.address, "--json"]);
      expect([queued.code, queued.json()]).toEqual([sync.code, sync.json()]);
      // Bad input ran once: BullMQ failed the task at its first attempt (UnrecoverableError).
      const tasks = await taskQueue("Means");
      try {
        const task = await tasks.getJob(`${means}-0`);
        expect(task?.attemptsMade).toBe(1);
        expect(await task?.getState()).toBe("failed");
      } finally {
        await tasks.close();
      }
    });

    it("takes a SIGKILLed worker's task again: the job's results equal the synchronous command's", async () => {
      const files = [1, 2, 3, 4].map((i) => tmp.file(`kill-${i}.csv`, lessonTableBytes(100_000 + i)));
      for (const server of servers.splice(0)) await server.kill();
      const doomed = await start();
      const id = await submitAndKill(["column-sums", ...files]);
      // Kill the worker while it runs a task (the task is active in Redis, its lock held).
      const queue = new JobQueue(redis.url);
      for (;;) {
        const status = await queue.status(id);
        if (status.running > 0) break;
        expect(status.done).toBe(0);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await doomed.kill("SIGKILL");
      await queue.close();
      const survivors = [await start(), await start()];
      const result = await rpcpool(["result", id, "--queue", redis.url, "--wait", "--json"]);
      expect(result.code, result.stderr).toBe(0);
      const sync = await rpcpool(["column-sums", ...files, "--servers", survivors[0]!.address, "--json"]);
      expect(withoutServers(result.json())).toEqual(withoutServers(sync.json()));
      expect(result.json().results).toHaveLength(4);
      // The killed worker's task was taken again by BullMQ's stalled-job check, not lost or doubled.
      const tasks = await taskQueue("ColumnSums");
      try {
        const runs = await Promise.all(files.map((_, i) => tasks.getJob(`${id}-${i}`)));
        // (The outcome is recorded before BullMQ marks its job completed: look at the stalled count only.)
        const stalled = runs.map((task) => task?.stalledCounter ?? 0);
        expect(stalled.filter((n) => n > 0).length, JSON.stringify(stalled)).toBeGreaterThanOrEqual(1);
      } finally {
        await tasks.close();
      }
    });

    it("stores only paths with --remote-paths, and refuses an input over the queue's limit, saying so", async () => {
      const root = `${tmp.dir}/root`;
      mkdirSync(root, { recursive: true });
      writeFileSync(`${root}/t.csv`, lessonTableBytes(70));
      for (const server of servers.splice(0)) await server.kill();
      const worker = await start(["--data-root", root]);
      const id = await submitAndKill(["column-sums", "t.csv", "missing.csv", "--remote-paths"]);
      const queued = await rpcpool(["result", id, "--queue", redis.url, "--wait", "--json"]);
      const sync = await rpcpool([
        "column-sums",
        "t.csv",
        "missing.csv",
        "--remote-paths",
        "--servers",
        worker.address,
        "--json",
      ]);
      expect([queued.code, queued.json()]).toEqual([sync.code, sync.json()]);
      expect(queued.json().results[0].rows).toBe(70);

      const queue = new JobQueue(redis.url, { limits: { maxTaskBytes: 1000 } });
      try {
        const refused = await submitColumnSums(queue, [`${root}/t.csv`]).then(
          () => undefined,
          (error: ClientError) => error,
        );
        expect(refused?.codeName).toBe("RESOURCE_EXHAUSTED");
        expect(refused?.details).toMatch(/more than the queue takes .*--remote-paths/);
      } finally {
        await queue.close();
      }
    });

    it("removes results once --keep has passed", async () => {
      const id = await submitAndKill(["circles", "--radii", "1,2", "--keep", "2s"]);
      const first = await rpcpool(["result", id, "--queue", redis.url, "--wait", "--json"]);
      expect(first.code, first.stderr).toBe(0);
      expect(first.json().radii).toEqual([1, 2]);
      let gone = first;
      while (gone.code === 0) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        gone = await rpcpool(["result", id, "--queue", redis.url, "--json"]);
      }
      expect(gone.code).toBe(1);
      expect(gone.json().errors[0].code).toBe("NOT_FOUND");
    });
  },
);

describe.skipIf(noRedis)(`a queue behind a password${noRedis ? `: skipped, ${noRedis}` : ""}`, () => {
  const password = "s3cr3t-Pa55";
  let locked: RedisProcess;
  let worker: QueueServer | undefined;
  beforeAll(async () => {
    locked = await startRedis({ password });
  });
  afterAll(async () => {
    await worker?.kill("SIGKILL");
    await locked?.stop();
  });

  it("works with the password and never prints it, right or wrong", async () => {
    worker = await startQueueServer(locked.url);
    const submitted = await rpcpool([
      "submit",
      "means",
      "--lists",
      "[[1,2,3]]",
      "--queue",
      locked.url,
      "--json",
    ]);
    expect(submitted.code, submitted.stderr).toBe(0);
    const id = submitted.json().job;
    const result = await rpcpool(["result", id, "--queue", locked.url, "--wait", "--json"]);
    expect(result.json()).toEqual({ means: [2] });

    const wrong = locked.url.replace(password, "not-the-password");
    const refused = await rpcpool(["status", id, "--queue", wrong, "--json"]);
    expect(refused.code).toBe(1);
    expect(refused.json().errors[0].code).toBe("UNAUTHENTICATED");
    expect(refused.stdout + refused.stderr).toContain("redis://:***@127.0.0.1");
    expect(refused.stdout + refused.stderr).not.toContain("not-the-password");

    // Through an environment variable (out of `ps`), and a server that cannot get in logs without it.
    const env = await collectRun(
      spawn(process.execPath, [clientProgram, "jobs", "--json"], {
        env: { ...process.env, RPCPOOL_QUEUE: locked.url },
        stdio: ["ignore", "pipe", "pipe"],
      }),
      "jobs",
    );
    expect(env.code, env.stderr).toBe(0);
    expect(env.json().jobs.map((j: { job: string }) => j.job)).toContain(id);
    const outsider = await startQueueServer(wrong);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await outsider.kill();
    for (const text of [worker.stderr(), outsider.stderr(), submitted.stderr, result.stderr]) {
      expect(text).not.toContain(password);
      expect(text).not.toContain("not-the-password");
    }
  });
});
