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
import { tempDir } from "./support/temp-dir.js";

/**
 * Labels on the durable queue (issue 20, docs/queue.md "Requirements"): `submit --require` puts a
 * job's tasks where only queue workers whose --label meet it take them; a requirement no connected
 * worker meets is stored with a warning and waits for one. Real redis-server, real rpcpool-server
 * processes with --queue (one worker thread each, named with --name: each reply's server says
 * which ran it), the CLI as users run it.
 */

const tmp = tempDir();
let redis: RedisProcess;
const servers: QueueServer[] = [];
const cli = (args: string[]) => rpcpool([...args, "--queue", redis.url]);

const start = async (args: string[]) => {
  const server = await startQueueServer(redis.url, args);
  servers.push(server);
  return server;
};

/** Resolves once `child`'s stderr holds `words` (the test's timeout is the hang guard). */
function stderrSays(child: ReturnType<typeof spawn>, words: string): Promise<string> {
  let stderr = "";
  return new Promise((resolve) => {
    child.stderr!.on("data", (data) => {
      stderr += data;
      if (stderr.includes(words)) resolve(stderr);
    });
  });
}

describe.skipIf(noRedis)(`queue requirements${noRedis ? `: skipped, ${noRedis}` : ""}`, () => {
  beforeAll(async () => {
    redis = await startRedis();
    await Promise.all([
      start(["--name", "gpu-box", "--label", "gpu=1", "--label", "zone=b"]),
      start(["--name", "plain-box", "--label", "zone=a"]),
    ]);
  });
  afterAll(async () => {
    for (const server of servers.splice(0)) await server.kill("SIGKILL");
    await redis?.stop();
    tmp.cleanup();
  });

  it("runs a job that requires gpu=1 only on the gpu=1 worker, its reduce step too", async () => {
    const files = [...Array(8).keys()].map((i) => tmp.file(`t${i}.csv`, `${i};1\n${i + 1};2\n`));
    const submitted = await cli([
      "submit",
      "column-sums",
      ...files,
      "--total",
      "--require",
      "gpu=1",
      "--json",
    ]);
    expect(submitted.code, submitted.stderr).toBe(0);
    // A worker meets it: no warning.
    expect(submitted.stderr).not.toContain("warning");
    const id: string = submitted.json().job;
    const result = await cli(["result", id, "--wait", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const document = result.json();
    expect(document.results).toHaveLength(8);
    expect(new Set(document.results.map((r: { server: string }) => r.server))).toEqual(new Set(["gpu-box"]));
    // a: 0+1+1+2+...+7+8 = 64; b: 3 per file.
    expect(document.total.sums).toEqual([64, 24]);
    const status = await cli(["status", id, "--json"]);
    expect(status.json()).toMatchObject({ state: "done", tasks: 9, done: 9, finished: true });
    // A second submit with the same key is the same job, requirement or not.
    // --prefer is accepted and changes nothing (docs/queue.md): zone=a is still required.
    const keyed = await cli([
      "submit",
      "circles",
      "--radii",
      "1",
      "--require",
      "zone=a",
      "--prefer",
      "zone=b",
      "--key",
      "k1",
      "--json",
    ]);
    expect(keyed.code, keyed.stderr).toBe(0);
    const again = await cli([
      "submit",
      "circles",
      "--radii",
      "1",
      "--require",
      "zone=a",
      "--key",
      "k1",
      "--json",
    ]);
    expect(again.json().job).toBe(keyed.json().job);
    const circles = await cli(["result", keyed.json().job, "--wait"]);
    expect(circles.code, circles.stderr).toBe(0);
    expect(circles.stdout).toContain("(on plain-box)");
  });

  it("keeps the requirement with --delay, --priority and on each run of --every", async () => {
    const delayed = await cli([
      "submit",
      "circles",
      "--radii",
      "1",
      "--require",
      "gpu=1",
      "--delay",
      "300",
      "--priority",
      "3",
      "--json",
    ]);
    expect(delayed.code, delayed.stderr).toBe(0);
    const once = await cli(["result", delayed.json().job, "--wait"]);
    expect(once.code, once.stderr).toBe(0);
    expect(once.stdout).toContain("(on gpu-box)");
    const submitted = await cli([
      "submit",
      "circles",
      "--radii",
      "2",
      "--every",
      "1s",
      "--require",
      "gpu=1",
      "--json",
    ]);
    expect(submitted.code, submitted.stderr).toBe(0);
    const schedule = submitted.json().schedule;
    // Polled until it has run (the test's timeout is the hang guard).
    let last: string | undefined;
    while (!last) {
      const run = await cli(["jobs", "--schedules", "--json"]);
      last =
        run.json().schedules.find((s: { schedule: string }) => s.schedule === schedule)?.last ?? undefined;
      if (!last) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const result = await cli(["result", last, "--wait"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("(on gpu-box)");
    expect((await cli(["cancel", schedule, "--json"])).json()).toEqual({ schedule, cancelled: true });
  });

  it("stores a job no worker meets with a warning naming the requirement; cancel and status find it", async () => {
    const submitted = await cli(["submit", "circles", "--radii", "1,2", "--require", "gpu=3", "--json"]);
    expect(submitted.code, submitted.stderr).toBe(0);
    const id: string = submitted.json().job;
    expect(submitted.stderr).toContain(`warning: no worker connected to queue ${redis.url} has gpu=3`);
    expect(submitted.stderr).toContain("{gpu=1,zone=b}");
    expect(submitted.stderr).toContain(`rpcpool-server --queue ${redis.url} --label gpu=3`);
    const status = await cli(["status", id, "--json"]);
    expect(status.json()).toMatchObject({ state: "waiting", waiting: 1 });
    const cancelled = await cli(["cancel", id, "--json"]);
    expect(cancelled.json()).toEqual({ job: id, cancelled: 1 });
    expect((await cli(["status", id, "--json"])).json()).toMatchObject({ state: "cancelled" });
  });

  it("a job waiting for its labels runs once a matching worker starts; result --wait says what it waits for", async () => {
    const submitted = await cli(["submit", "circles", "--radii", "1,2,3", "--require", "gpu=2", "--json"]);
    expect(submitted.code, submitted.stderr).toBe(0);
    expect(submitted.stderr).toContain("has gpu=2");
    const id: string = submitted.json().job;
    // Text, not --json: its last line names the server that ran the task, "(on NAME)".
    const child = spawn(process.execPath, [clientProgram, "result", id, "--queue", redis.url, "--wait"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const run = collectRun(child, "result --wait");
    // A result that came instead (a worker without the label took the job) fails at once.
    const said = await Promise.race([
      stderrSays(child, "waiting for a worker with gpu=2"),
      run.then((ended) => {
        throw new Error(`result --wait ended before it said what it waits for: ${ended.stdout}`);
      }),
    ]);
    expect(said).toContain(`rpcpool-server --queue ${redis.url} --label gpu=2`);
    // Nobody took it meanwhile (the two workers do not meet it).
    expect((await cli(["status", id, "--json"])).json()).toMatchObject({ state: "waiting" });
    await start(["--name", "gpu2-box", "--label", "gpu=2"]);
    const done = await run;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain("(on gpu2-box)");
  });
});
