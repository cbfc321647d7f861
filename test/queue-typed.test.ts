import { join } from "node:path";
import type { ClientError } from "rpcpool";
import {
  type ColumnSumsResponse,
  ComputeServiceDefinition,
  DemoServiceDefinition,
  TableOptions,
} from "rpcpool/lesson";
import { FailedInput, JobQueue } from "rpcpool/queue";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import {
  noRedis,
  type QueueServer,
  type RedisProcess,
  startQueueServer,
  startRedis,
} from "./support/redis-server.js";
import { root, rpcpool, withInput } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

/**
 * The typed queue (issue 18, item 4; docs/queue.md "The typed API"): `queue.service(D).submit`
 * encodes by the definition and its handle's results are the method's replies; `rpcpool submit
 * SERVICE/METHOD` takes `rpcpool map`'s JSON lines and `rpcpool result` prints byte for byte what
 * `map` prints for them. Real redis-server, one real rpcpool-server that is both the queue's
 * worker and `map`'s server (so that the replies' `servedBy` is the same), the CLI as users run it.
 */

const tmp = tempDir("rpcpool-queue-typed-");
const means = "rpcpool.compute.v1.ComputeService/Means";
let redis: RedisProcess;
let server: QueueServer;
let queue: JobQueue;

/** Lines of every kind map meets: good, not JSON, not fitting the message, refused by the handler, blank. */
function lines(count: number): string {
  const text: string[] = [];
  for (let i = 1; i <= count; i++) {
    if (i % 97 === 0) text.push('{"lists": [{"values": [1, 2}]}');
    else if (i % 89 === 0) text.push('{"lists":[{"values":[]}]}');
    else if (i % 83 === 0) text.push('{"list":[]}');
    else if (i % 79 === 0) text.push("");
    else text.push(JSON.stringify({ lists: [{ values: [i % 7, (i % 5) + 1, i / 3] }, { values: [-i] }] }));
  }
  return `${text.join("\n")}\n`;
}

describe.skipIf(noRedis)(`the typed queue${noRedis ? `: skipped, ${noRedis}` : ""}`, () => {
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

  it("submits by the definition and gives the method's replies, typed, in input order", async () => {
    const compute = queue.service(ComputeServiceDefinition);
    const inputs = [
      { lists: [{ values: [1, 2, 3] }] },
      new FailedInput(3, "not a request"),
      { lists: [{ values: [] }] },
      { lists: [{ values: [10] }, { values: [2, 4] }] },
    ];
    const job = await compute.submit("means", inputs, { keepMs: 60_000 });
    const settled = await job.wait();
    expectTypeOf(settled[0]!).toMatchTypeOf<{ ok: true; value: { means: number[] } } | { ok: false }>();
    expect(settled.map((o) => (o.ok ? o.value.means : o.error.codeName))).toEqual([
      [2],
      "INVALID_ARGUMENT",
      "INVALID_ARGUMENT",
      [10, 3],
    ]);
    expect(settled[1]).toMatchObject({ ok: false, error: { details: "not a request" } });
    expect(await job.status()).toMatchObject({ state: "failed", tasks: 4, done: 2, failed: 2 });
    // results() throws the first failure, as pool.service(D).map does.
    const error = (await job.results().catch((e: unknown) => e)) as ClientError;
    expect(error.details).toBe("not a request");
    // A handle on the id from elsewhere decodes the same; the job has finished: no need to wait.
    const again = await compute.job(job.id, "means").settled({ wait: false });
    expect(again).toEqual(settled);

    // A client-streaming method's input is its stream; a reduce step is typed by its own method.
    const table = (text: string) => [
      { options: TableOptions.fromPartial({ fileName: "t.csv" }) },
      { chunk: Buffer.from(text) },
    ];
    const then = "mergeColumnSums" as const;
    const sums = await compute.submit("columnSums", [table("1;2\n3;4\n"), table("5;6\n")], { then });
    expect((await sums.results()).map((r) => r.sums)).toEqual([
      [4, 6],
      [5, 6],
    ]);
    const total = await sums.reduced();
    expectTypeOf(total).toEqualTypeOf<ColumnSumsResponse>();
    expect(total).toMatchObject({ rows: 3, columns: 2 });
  });

  it("cancels through the typed handle; refuses at once what no worker would take", async () => {
    const demo = queue.service(DemoServiceDefinition);
    const job = await demo.submit("sleep", [{ milliseconds: 60_000 }]);
    for (let status = await job.status(); status.running === 0; status = await job.status()) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await job.cancel()).toBe(1);
    expect(await job.status()).toMatchObject({ state: "cancelled" });
    expect(await job.settled().catch((e: ClientError) => e.codeName)).toBe("CANCELLED");

    // A method whose proto does not say a second run is harmless would wait for ever: refused.
    const unmarked = {
      name: "Unmarked",
      fullName: "acme.v1.Unmarked",
      methods: {
        run: { ...DemoServiceDefinition.methods.sleep, name: "Run", options: {} },
        watch: { ...DemoServiceDefinition.methods.sleep, name: "Watch", responseStream: true as const },
      },
    } as const;
    await expect(queue.service(unmarked).submit("run", [{ milliseconds: 1 }])).rejects.toMatchObject({
      codeName: "FAILED_PRECONDITION",
    });
    // @ts-expect-error: a streaming reply is not queueable, and the compiler says so too.
    await expect(queue.service(unmarked).submit("watch", [{ milliseconds: 1 }])).rejects.toMatchObject({
      codeName: "INVALID_ARGUMENT",
    });
    // @ts-expect-error: a misspelled method does not compile.
    await expect(queue.service(DemoServiceDefinition).submit("slep", [])).rejects.toMatchObject({
      codeName: "INVALID_ARGUMENT",
    });
  });

  it("rpcpool result prints byte for byte what rpcpool map prints for the same lines, exit 1 alike", async () => {
    const file = tmp.file("means.jsonl", lines(1_000));
    const map = await rpcpool(["map", means, file, "--servers", server.address], { timeoutMs: 60_000 });
    expect(map.code, map.stderr).toBe(1);
    const submit = await rpcpool(["submit", means, file, "--servers", server.address, "--queue", redis.url]);
    expect(submit.code, submit.stderr).toBe(0);
    const id = submit.stdout.trim();
    const result = await rpcpool(["result", id, "--wait", "--queue", redis.url], { timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toBe(map.stdout);
    expect(result.stdout.split("\n")).toHaveLength(1_000 - Math.floor(1_000 / 79) + 1);
    expect(result.stdout).toMatch(
      /{"error":{"code":"INVALID_ARGUMENT","message":"\S+: line 97, column \d+: not JSON/,
    );
    expect(result.stdout).toContain('"message":"list 1 is empty: it has no mean"');

    // From stdin, described by the .proto files instead of reflection, with map's --emit-defaults.
    const small = '{"lists":[{"values":[0]}]}\n{"lists":[]}\n';
    const proto = [
      "--proto",
      "rpcpool/compute/v1/compute.proto",
      "-I",
      join(root, "proto"),
      "--emit-defaults",
    ];
    const mapped = await withInput(["map", means, "-", ...proto, "--servers", server.address], small);
    expect(mapped.code, mapped.stderr).toBe(0);
    const queued = await withInput(["submit", means, "-", ...proto, "--queue", redis.url, "--json"], small);
    expect(queued.code, queued.stderr).toBe(0);
    const printed = await rpcpool(["result", queued.json().job, "--wait", "--queue", redis.url]);
    expect([printed.code, printed.stdout]).toEqual([0, mapped.stdout]);
  });

  it("runs a --then reduce step over the replies; result prints its reply as one line more", async () => {
    const merge = "rpcpool.compute.v1.ComputeService/MergeColumnSums";
    const part = (rows: number, sums: number[]) =>
      JSON.stringify({
        parts: [{ rows: String(rows), columns: 2, sums, exact: sums.map((x) => ({ partials: [x] })) }],
      });
    const good = tmp.file("parts.jsonl", `${part(2, [4, 6])}\n${part(1, [5, 6.5])}\n`);
    const bad = tmp.file("parts-bad.jsonl", `${part(2, [4, 6])}\nnope\n`);
    const submit = async (file: string) => {
      const args = [
        "submit",
        merge,
        file,
        "--then",
        merge,
        "--servers",
        server.address,
        "--queue",
        redis.url,
      ];
      const run = await rpcpool(args);
      expect(run.code, run.stderr).toBe(0);
      return rpcpool(["result", run.stdout.trim(), "--wait", "--queue", redis.url]);
    };
    const done = await submit(good);
    expect(done.code, done.stderr).toBe(0);
    const out = done.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(out.map((reply) => [reply.rows, reply.sums])).toEqual([
      ["2", [4, 6]],
      ["1", [5, 6.5]],
      ["3", [9, 12.5]],
    ]);
    const refused = await submit(bad);
    expect(refused.code).toBe(1);
    expect(refused.stdout.trim().split("\n").at(-1)).toBe(
      '{"error":{"code":"FAILED_PRECONDITION","message":"no reduce: 1 of 2 tasks have no result"}}',
    );
  });

  it("keeps the job controls on the generic path: --key, --delay, cancel", async () => {
    const file = tmp.file("one.jsonl", '{"lists":[{"values":[1,3]}]}\n');
    const submit = (extra: string[]) =>
      rpcpool(["submit", means, file, "--servers", server.address, "--queue", redis.url, ...extra]);
    const first = await submit(["--key", "typed-once"]);
    const second = await submit(["--key", "typed-once"]);
    expect(first.code, first.stderr).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    const delayed = (await submit(["--delay", "60s", "--json"])).json().job;
    const status = await rpcpool(["status", delayed, "--json", "--queue", redis.url]);
    expect(status.json()).toMatchObject({ state: "delayed", kind: means });
    const cancel = await rpcpool(["cancel", delayed, "--json", "--queue", redis.url]);
    expect(cancel.json()).toEqual({ job: delayed, cancelled: 1 });
    const result = await rpcpool(["result", first.stdout.trim(), "--wait", "--queue", redis.url]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).means).toEqual([2]);
    // A misspelled lesson command is no method either; a streaming method is refused before anything is stored.
    const misspelled = await rpcpool(["submit", "colum-sums", file, "--queue", redis.url]);
    expect([misspelled.code, misspelled.stderr]).toEqual([
      2,
      expect.stringContaining("one of submit's commands"),
    ]);
    const stream = await submit(["--then", "rpcpool.compute.v1.ComputeService/ColumnSums"]);
    expect([stream.code, stream.stderr]).toEqual([2, expect.stringContaining("submit takes unary methods")]);
  });
});
