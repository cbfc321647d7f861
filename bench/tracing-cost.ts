/**
 * The cost of a call with tracing configured (issue 19, item 5; docs/performance.md): the same
 * small call (ComputeService.Means of three numbers) through two pools, side by side in
 * interleaved rounds: one to a server without OTEL_* variables from a transport made before the
 * SDK was registered (tracing off), one to a server exporting its spans (http/protobuf, default
 * batching) from a transport made after (a client span per call, a traceparent in its metadata).
 * Both export to a collector in this process that reads and drops what it gets.
 * Run: `npm run build && node dist/bench/tracing-cost.js [calls]`.
 */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { Pool } from "rpcpool";
import { ComputeServiceService, MeansRequest } from "rpcpool/lesson";
import { startTracing } from "../src/tracing/start-tracing.js";
import { measure } from "./interleaved-calls.js";

const calls = Number(process.argv[2] ?? 20_000);
const rounds = 10;

let exports = 0;
let exportedBytes = 0;
const collector = createServer((request, response) => {
  request.on("data", (chunk: Buffer) => {
    exportedBytes += chunk.length;
  });
  request.on("end", () => {
    exports++;
    response.writeHead(200, { "content-type": "application/x-protobuf" }).end();
  });
});
await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
const otel = {
  OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
  OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
  OTEL_TRACES_EXPORTER: "otlp",
};
const withoutOtel = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !key.startsWith("OTEL_")),
);

async function startServer(env: NodeJS.ProcessEnv) {
  const program = fileURLToPath(new URL("../server/main.js", import.meta.url));
  const child = spawn(process.execPath, [program, "--port", "0", "--workers", "1"], {
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const address = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const match = /listening on (\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once("exit", (code) => reject(new Error(`server exited ${code}`)));
  });
  return { child, address };
}

const plainServer = await startServer(withoutOtel);
const tracedServer = await startServer({ ...withoutOtel, ...otel, OTEL_SERVICE_NAME: "bench-server" });
// The untraced pool first: its transport is made while no SDK is registered.
const plainPool = await Pool.connect([plainServer.address]);
// The exporter reads its endpoint from the process's environment, as in the programs.
Object.assign(process.env, otel, { OTEL_SERVICE_NAME: "bench-client" });
const tracing = await startTracing(process.env, "bench");
if (!tracing) throw new Error("tracing did not start");
const tracedPool = await Pool.connect([tracedServer.address]);
const request = MeansRequest.fromPartial({ lists: [{ values: [1, 2, 3] }] });
const callers = [plainPool, tracedPool].map((pool) => {
  const compute = pool.service(ComputeServiceService);
  return () => compute.apply("means", request);
});

// Throughput with 32 calls in flight.
const measured = await measure(callers, calls, 32, rounds, 1000);
await tracing.shutdown();
const figures = measured.map((m) => ({
  p50Us: Math.round(m.p50),
  p99Us: Math.round(m.p99),
  clientCpuUsPerCall: Math.round(m.cpuPerCall * 10) / 10,
  callsPerSecond32: Math.round(m.perSecond),
}));
const [off, on] = figures as [(typeof figures)[0], (typeof figures)[0]];
console.log(
  JSON.stringify(
    {
      calls: measured[0]!.calls,
      off,
      on,
      costPerCallUs: {
        p50: on.p50Us - off.p50Us,
        clientCpu: Math.round((on.clientCpuUsPerCall - off.clientCpuUsPerCall) * 10) / 10,
      },
      throughputChange: `${Math.round((on.callsPerSecond32 / off.callsPerSecond32 - 1) * 1000) / 10}%`,
      collector: { exports, bytes: exportedBytes },
    },
    null,
    2,
  ),
);
await Promise.all([plainPool.close(), tracedPool.close()]);
// The traced server exports its last spans as it drains: the collector waits for it.
await Promise.all(
  [plainServer, tracedServer].map(
    (server) => new Promise((resolve) => server.child.once("exit", resolve).kill("SIGTERM")),
  ),
);
collector.close();
