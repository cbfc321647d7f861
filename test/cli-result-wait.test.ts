import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  noRedis,
  type QueueServer,
  type RedisProcess,
  startQueueServer,
  startRedis,
} from "./support/redis-server.js";
import { clientProgram, collectRun, rpcpool } from "./support/run-program.js";

// `rpcpool result --wait` on a job that no worker takes: after a few seconds it says on stderr that
// no worker is connected and how to start one, and it keeps waiting: a worker started then
// finishes the job, and the result is printed. The test waits on the words, not on a clock.
let redis: RedisProcess;
let worker: QueueServer | undefined;

describe.skipIf(noRedis)(`result --wait without a worker${noRedis ? `: skipped, ${noRedis}` : ""}`, () => {
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await worker?.kill("SIGKILL");
    await redis?.stop();
  });

  it("says no worker is connected, and keeps waiting until one comes", async () => {
    const submitted = await rpcpool(["submit", "circles", "--radii", "1,2", "--queue", redis.url, "--json"]);
    expect(submitted.code, submitted.stderr).toBe(0);
    const id: string = submitted.json().job;
    const child = spawn(
      process.execPath,
      [clientProgram, "result", id, "--queue", redis.url, "--wait", "--json"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const run = collectRun(child, "result --wait");
    let stderr = "";
    await new Promise<void>((resolve) => {
      child.stderr!.on("data", (data) => {
        stderr += data;
        if (stderr.includes("no worker is connected")) resolve();
      });
    });
    expect(stderr).toContain(
      `no worker is connected to queue ${redis.url}; start one with rpcpool-server --queue ${redis.url}`,
    );
    expect(child.exitCode).toBe(null);
    worker = await startQueueServer(redis.url);
    const done = await run;
    expect(done.code, done.stderr).toBe(0);
    expect(done.json().lengths).toHaveLength(2);
    // Said once, not on every look.
    expect(done.stderr.match(/no worker is connected/g)).toHaveLength(1);
  });
});
