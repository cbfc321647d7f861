import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Pool } from "rpcpool";
import { lessonTableBytes } from "rpcpool/lesson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OtlpCollector, type ReceivedSpan, startOtlpCollector } from "./support/otlp-collector.js";
import { noRedis, startRedis } from "./support/redis-server.js";
import { clientProgram, collectRun, root, serverProgram } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";
import { until } from "./support/waits.js";

const tmp = tempDir();
let collector: OtlpCollector;
beforeAll(async () => {
  collector = await startOtlpCollector();
});
afterAll(async () => {
  await collector.close();
  tmp.cleanup();
});

/**
 * The standard variables alone. The batch delay is far longer than a test: every span the
 * collector gets was flushed by the program's end (a CLI run's, a server's drain on SIGTERM).
 */
function otelEnv(service: string, protocol: "http/json" | "http/protobuf"): NodeJS.ProcessEnv {
  return {
    ...process.env,
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
    OTEL_SERVICE_NAME: service,
    OTEL_TRACES_EXPORTER: "otlp",
    OTEL_BSP_SCHEDULE_DELAY: "600000",
  };
}

/** The environment without any OTEL_* variable (the test's own may have some). */
function noOtelEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("OTEL_")));
}

/** A real server process; resolves its address once it listens. */
async function startServer(env: NodeJS.ProcessEnv, args: string[] = [], nodeArgs: string[] = []) {
  const child = spawn(
    process.execPath,
    [...nodeArgs, serverProgram, "--port", "0", "--workers", "1", ...args],
    {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const exited = collectRun(child, "rpcpool-server", 30_000);
  const address = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      const match = /listening on (\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    exited.then((run) => reject(new Error(`server exited ${run.code}: ${run.stderr}`)), reject);
  });
  return { child, address, exited };
}

function runClient(args: string[], env: NodeJS.ProcessEnv, nodeArgs: string[] = []) {
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, clientProgram, ...args], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return collectRun(child, `rpcpool ${args.join(" ")}`, 30_000);
}

const byId = (spans: ReceivedSpan[]) => new Map(spans.map((s) => [s.spanId, s]));

describe("traces across the client and a server process", () => {
  it("one CLI run and its server send spans of one trace, the server's span the child of the client's", async () => {
    const server = await startServer(otelEnv("trace-test-server", "http/json"));
    // One file whole, one cut in parts.
    const whole = tmp.file("whole.csv", "1;2\n3;4\n");
    const table = lessonTableBytes();
    const split = tmp.file("split.csv", table);
    const files = [whole, split];
    const run = await runClient(
      [
        "column-sums",
        ...files,
        "--split",
        `${Math.ceil(table.length / 3)}B`,
        "--servers",
        server.address,
        "--json",
      ],
      otelEnv("trace-test-client", "http/protobuf"),
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.json().results).toHaveLength(2);
    server.child.kill("SIGTERM");
    const stopped = await server.exited;
    expect(stopped.code, stopped.stderr).toBe(0);

    expect(collector.protocols).toEqual(new Set(["http/json", "http/protobuf"]));
    const client = collector.spans.filter((s) => s.service === "trace-test-client");
    const served = collector.spans.filter((s) => s.service === "trace-test-server");
    // The command is the root span, and the only one: the run is one trace.
    const roots = client.filter((s) => s.parentSpanId === "");
    expect(roots.map((s) => s.name)).toEqual(["rpcpool column-sums"]);
    const traceId = roots[0]!.traceId;
    expect(new Set([...client, ...served].map((s) => s.traceId))).toEqual(new Set([traceId]));

    const clientSpans = byId(client);
    const calls = served.filter((s) => s.kind === 2);
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) {
      const parent = clientSpans.get(call.parentSpanId);
      expect(parent, `parent of ${call.name}`).toBeDefined();
      expect(parent!.kind).toBe(3);
      expect(parent!.name).toBe(call.name);
      expect(call.attributes["rpc.system"]).toBe("grpc");
    }
    if (process.env.SHOW_SPANS)
      console.log(
        collector.spans
          .map((s) => `${s.service} ${s.kind} ${s.name} ${s.spanId} <- ${s.parentSpanId}`)
          .join("\n"),
      );
    // Each file a child of the command; each part of the split file a child of its file; each
    // table call a child of its file or part.
    const named = (name: string) => client.filter((s) => s.name === name);
    expect(named(`file ${whole}`)).toHaveLength(1);
    expect(named(`file ${whole}`)[0]!.parentSpanId).toBe(roots[0]!.spanId);
    const splitFile = named(`file ${split}`);
    expect(splitFile).toHaveLength(1);
    expect(splitFile[0]!.parentSpanId).toBe(roots[0]!.spanId);
    const parts = client.filter((s) => s.name.startsWith("part "));
    expect(parts.length).toBeGreaterThanOrEqual(2);
    for (const part of parts) expect(part.parentSpanId).toBe(splitFile[0]!.spanId);
    const tableCalls = client.filter((s) => s.kind === 3 && s.name.endsWith("/ColumnSums"));
    expect(tableCalls).toHaveLength(1 + parts.length);
    const tasks = new Set([named(`file ${whole}`)[0]!.spanId, ...parts.map((p) => p.spanId)]);
    for (const call of tableCalls) expect(tasks).toContain(call.parentSpanId);

    // Into the worker threads: the server's work on a thread is a child of its call's span.
    const servedById = byId(served);
    const workerSpans = served.filter((s) => s.name.startsWith("worker "));
    expect(workerSpans.length).toBeGreaterThan(0);
    for (const work of workerSpans) {
      expect(servedById.get(work.parentSpanId)?.name).toMatch(/ColumnSums$/);
    }
  });
});

describe("a server drained by SIGTERM", () => {
  it("exports the span of a call that was still running when the signal came", async () => {
    const server = await startServer(otelEnv("drain-test-server", "http/json"));
    const call = runClient(
      ["call", "rpcpool.compute.v1.DemoService/Sleep", '{"milliseconds":1500}', "--servers", server.address],
      otelEnv("drain-test-client", "http/json"),
    );
    // The signal comes while the call runs (the server says it has one in flight).
    const watcher = await Pool.connect([server.address]);
    let inFlight = 0;
    const poll = setInterval(() => {
      watcher.servers[0]!.refreshInfo().then(
        (info) => {
          inFlight = info.callsInFlight;
        },
        () => {},
      );
    }, 20);
    try {
      await until(() => inFlight > 0, "the server runs the call");
    } finally {
      clearInterval(poll);
      await watcher.close();
    }
    server.child.kill("SIGTERM");
    const run = await call;
    expect(run.code, run.stderr).toBe(0);
    expect((await server.exited).code).toBe(0);
    const sleeps = collector.spans.filter(
      (s) => s.service === "drain-test-server" && s.name === "rpcpool.compute.v1.DemoService/Sleep",
    );
    expect(sleeps).toHaveLength(1);
    const client = collector.spans.filter((s) => s.service === "drain-test-client");
    expect(byId(client).get(sleeps[0]!.parentSpanId)?.name).toBe("rpcpool.compute.v1.DemoService/Sleep");
  });
});

describe("a batch", () => {
  it("has one server span per item, each a child of the batch's Invoke span, in the client's trace", async () => {
    const server = await startServer(otelEnv("batch-test-server", "http/json"));
    const input = tmp.file(
      "batch.jsonl",
      [[1, 2], [3], [5, 7]].map((v) => JSON.stringify({ lists: [{ values: v }] })).join("\n"),
    );
    const run = await runClient(
      [
        "map",
        "rpcpool.compute.v1.ComputeService/Means",
        input,
        "--chunksize",
        "3",
        "--servers",
        server.address,
      ],
      otelEnv("batch-test-client", "http/json"),
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim().split("\n")).toHaveLength(3);
    server.child.kill("SIGTERM");
    expect((await server.exited).code).toBe(0);

    const client = collector.spans.filter((s) => s.service === "batch-test-client");
    const served = collector.spans.filter((s) => s.service === "batch-test-server");
    const invoke = served.filter((s) => s.name === "rpcpool.pool.v1.BatchService/Invoke");
    expect(invoke).toHaveLength(1);
    expect(byId(client).get(invoke[0]!.parentSpanId)?.name).toBe("rpcpool.pool.v1.BatchService/Invoke");
    const items = served.filter((s) => s.name === "rpcpool.compute.v1.ComputeService/Means");
    expect(items).toHaveLength(3);
    for (const item of items) {
      expect(item.parentSpanId).toBe(invoke[0]!.spanId);
      expect(item.traceId).toBe(invoke[0]!.traceId);
    }
  });
});

describe("without an exporter configured", () => {
  const hook = ["--import", join(root, "test", "support", "module-loads.mjs")];
  /** The modules a server and a CLI run against it loaded (their URLs), with this environment. */
  async function loadsOf(env: NodeJS.ProcessEnv, name: string) {
    const serverLoads = join(tmp.dir, `${name}-server-loads.txt`);
    const clientLoads = join(tmp.dir, `${name}-client-loads.txt`);
    const server = await startServer({ ...env, RPCPOOL_TEST_MODULE_LOADS: serverLoads }, [], hook);
    const file = tmp.file(`${name}.csv`, "1;2\n3;4\n");
    const run = await runClient(
      ["column-sums", file, "--servers", server.address, "--json"],
      { ...env, RPCPOOL_TEST_MODULE_LOADS: clientLoads },
      hook,
    );
    expect(run.code, run.stderr).toBe(0);
    server.child.kill("SIGTERM");
    expect((await server.exited).code).toBe(0);
    const read = (path: string) => (existsSync(path) ? readFileSync(path, "utf8").split("\n") : []);
    return { server: read(serverLoads), client: read(clientLoads) };
  }
  const sdk = (url: string) => /tracing-sdk|@opentelemetry\/(sdk-|exporter-|resources)/.test(url);

  it("neither the server nor the CLI loads the OpenTelemetry SDK", async () => {
    const loads = await loadsOf(noOtelEnv(), "off");
    // The hook saw the programs' modules: an empty list would prove nothing.
    expect(loads.server.some((url) => url.includes("/dist/server/"))).toBe(true);
    expect(loads.client.some((url) => url.includes("/dist/client/"))).toBe(true);
    expect(loads.server.filter(sdk)).toEqual([]);
    expect(loads.client.filter(sdk)).toEqual([]);
  });

  it("with OTEL_TRACES_EXPORTER=none neither loads it either; with an endpoint both do", async () => {
    const none = await loadsOf({ ...otelEnv("off", "http/json"), OTEL_TRACES_EXPORTER: "none" }, "none");
    expect(none.server.filter(sdk)).toEqual([]);
    expect(none.client.filter(sdk)).toEqual([]);
    const on = await loadsOf(otelEnv("on", "http/json"), "on");
    expect(on.server.filter(sdk).length).toBeGreaterThan(0);
    expect(on.client.filter(sdk).length).toBeGreaterThan(0);
  });
});

describe.skipIf(noRedis)(
  `a queued task's run in the trace that submitted it${noRedis ? `: skipped, ${noRedis}` : ""}`,
  () => {
    it("submit -> run: the task's run is a child of the client's submit, the method's span a child of the run", async () => {
      const redis = await startRedis();
      try {
        const server = await startServer(otelEnv("queue-test-server", "http/protobuf"), [
          "--queue",
          redis.url,
        ]);
        const submitted = await runClient(
          ["submit", "means", "--lists", "[[1,2,3],[4,5]]", "--queue", redis.url, "--json"],
          otelEnv("queue-test-client", "http/json"),
        );
        expect(submitted.code, submitted.stderr).toBe(0);
        const id = submitted.json().job;
        const result = await runClient(["result", id, "--queue", redis.url, "--wait", "--json"], noOtelEnv());
        expect(result.json()).toEqual({ means: [2, 4.5] });
        server.child.kill("SIGTERM");
        expect((await server.exited).code).toBe(0);

        const client = collector.spans.filter((s) => s.service === "queue-test-client");
        const served = collector.spans.filter((s) => s.service === "queue-test-server");
        const submit = client.filter((s) => s.name.startsWith("queue submit"));
        expect(submit).toHaveLength(1);
        expect(submit[0]!.kind).toBe(4); // PRODUCER
        const runs = served.filter((s) => s.name.startsWith("queue run"));
        expect(runs.length).toBeGreaterThan(0);
        const servedById = byId(served);
        for (const run of runs) {
          expect(run.kind).toBe(5); // CONSUMER
          expect(run.traceId).toBe(submit[0]!.traceId);
          expect(run.parentSpanId).toBe(submit[0]!.spanId);
        }
        const methodSpans = served.filter((s) => s.kind === 2 && s.name.endsWith("/Means"));
        expect(methodSpans.length).toBeGreaterThan(0);
        for (const span of methodSpans) expect(servedById.get(span.parentSpanId)?.name).toMatch(/^queue run/);
      } finally {
        await redis.stop();
      }
    });
  },
);
