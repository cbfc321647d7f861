import { type ChildProcess, spawn } from "node:child_process";
import { lessonTableBytes } from "rpcpool/lesson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OtlpCollector, type ReceivedSpan, startOtlpCollector } from "./support/otlp-collector.js";
import { clientProgram, collectRun, root, serverProgram } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

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

/** A real server process; resolves its address once it listens. */
async function startServer(env: NodeJS.ProcessEnv, args: string[] = []) {
  const child = spawn(process.execPath, [serverProgram, "--port", "0", "--workers", "1", ...args], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
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

function runClient(args: string[], env: NodeJS.ProcessEnv) {
  const child: ChildProcess = spawn(process.execPath, [clientProgram, ...args], {
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
    const files = [0, 1].map((i) => tmp.file(`t${i}.csv`, lessonTableBytes()));
    const run = await runClient(
      ["column-sums", ...files, "--servers", server.address, "--json"],
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
    const tableCalls = calls.filter((s) => s.name.endsWith("/ColumnSums"));
    expect(tableCalls).toHaveLength(2);
  });
});
