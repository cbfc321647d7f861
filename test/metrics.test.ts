import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { Pool } from "rpcpool";
import { ComputeServiceDefinition, MeansRequest } from "rpcpool/lesson";
import { JobQueue } from "rpcpool/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  freePort,
  noRedis,
  type RedisProcess,
  startQueueServer,
  startRedis,
} from "./support/redis-server.js";
import { root, rpcpool, runProgram, serverProgram, startServerProgram } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// Two real rpcpool-server processes with --metrics and a token; calls of every shape (plain,
// chunked into batches, coalesced, a client stream); then their scrapes, and the pool's own.

const token = "metrics-test-token";
const dir = tempDir("rpcpool-metrics-");
const tokenFile = dir.file("token", token);
const table = dir.file("table.csv", "1,2\n3,4\n5,6\n");

interface MetricsServer {
  child: ChildProcess;
  address: string;
  metricsUrl: string;
}

async function startMetricsServer(): Promise<MetricsServer> {
  const server = await startServerProgram(
    ["--port", "0", "--workers", "1", "--metrics", "127.0.0.1:0", "--token-file", tokenFile],
    { ready: /metrics on \S+/ },
  );
  const metricsUrl = /metrics on (\S+)/.exec(server.stdout())![1]!;
  return { child: server.child, address: server.address, metricsUrl };
}

/** Sums the samples of a series whose labels include all of `labels` (Prometheus text format). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries(
      [...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(match[3]);
  }
  return sum;
}

const scrape = async (url: string, withToken = true) => {
  const response = await fetch(url, {
    headers: withToken ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: response.status, text: await response.text() };
};

const compute = { grpc_service: "rpcpool.compute.v1.ComputeService" };
const ok = { grpc_code: "OK" };

let servers: MetricsServer[] = [];
let pool: Pool;
const made = { circles: 0, means: 0, columnSums: 0 };

beforeAll(async () => {
  servers = await Promise.all([startMetricsServer(), startMetricsServer()]);
  pool = await Pool.connect(
    servers.map((s) => s.address),
    { security: { token } },
  );
  await pool.metrics(); // counting starts here: every call below is in the client's figures
  const service = pool.service(ComputeServiceDefinition);
  const radii = (n: number) => Array.from({ length: n }, (_, i) => ({ radii: [i + 1], pi: 0 }));
  // Plain calls, one round trip each.
  await service.map("circles", radii(6));
  made.circles += 6;
  // Chunked: 10 means in three BatchService round trips; each item counts under Means.
  await service.map(
    "means",
    Array.from({ length: 10 }, (_, i) => ({ lists: [{ values: [i, i + 1] }] })),
    { chunksize: 4 },
  );
  made.means += 10;
  // Concurrent applies beyond the pool's slots wait and coalesce into batches: still 40 calls.
  await Promise.all(radii(40).map((r) => service.apply("circles", r)));
  made.circles += 40;
  // A client stream (the lesson's table call), from the CLI.
  const run = await rpcpool([
    "column-sums",
    table,
    "--delimiter",
    ",",
    "--servers",
    servers.map((s) => s.address).join(","),
    "--token-file",
    tokenFile,
  ]);
  expect(run.code, run.stderr).toBe(0);
  made.columnSums += 1;
}, 60_000);

afterAll(async () => {
  await pool?.close();
  await Promise.all(
    servers.map(async (s) => {
      if (s.child.exitCode !== null) return;
      s.child.kill("SIGTERM");
      await once(s.child, "exit");
    }),
  );
  dir.cleanup();
});

describe("rpcpool-server --metrics", () => {
  it("counts every call under its own method, batch items and coalesced calls included", async () => {
    const texts = await Promise.all(servers.map(async (s) => (await scrape(s.metricsUrl)).text));
    const total = (name: string, labels: Record<string, string>) =>
      texts.reduce((sum, text) => sum + sample(text, name, labels), 0);
    const circles = { ...compute, grpc_method: "Circles", grpc_type: "unary" };
    const means = { ...compute, grpc_method: "Means", grpc_type: "unary" };
    const sums = { ...compute, grpc_method: "ColumnSums", grpc_type: "client_stream" };
    expect(total("grpc_server_handled_total", { ...circles, ...ok })).toBe(made.circles);
    expect(total("grpc_server_started_total", circles)).toBe(made.circles);
    expect(total("grpc_server_handled_total", { ...means, ...ok })).toBe(made.means);
    expect(total("grpc_server_handled_total", { ...sums, ...ok })).toBe(made.columnSums);
    // The round trips that carried the items count as what they are: BatchService calls (three of
    // the chunked means, at least one of the coalesced circles: 4 go alone, the 36 waiting travel together).
    expect(
      total("grpc_server_handled_total", {
        grpc_service: "rpcpool.pool.v1.BatchService",
        grpc_method: "Invoke",
      }),
    ).toBeGreaterThanOrEqual(4);
    // The histogram: one observation per call, in cumulative buckets up to +Inf.
    expect(total("grpc_server_handling_seconds_count", circles)).toBe(made.circles);
    expect(total("grpc_server_handling_seconds_bucket", { ...circles, le: "+Inf" })).toBe(made.circles);
    expect(total("grpc_server_handling_seconds_sum", circles)).toBeGreaterThan(0);
    // A client stream's messages: the options, then the table's bytes.
    expect(total("grpc_server_msg_received_total", sums)).toBeGreaterThanOrEqual(2);
    // rpcpool's own series, and Node's.
    expect(total("rpcpool_table_rows_total", {})).toBe(3);
    expect(total("rpcpool_worker_threads", {})).toBe(2);
    for (const text of texts) {
      expect(text).toMatch(/^# TYPE grpc_server_handling_seconds histogram$/m);
      for (const name of [
        "rpcpool_calls_in_flight",
        "rpcpool_refusals_total",
        "rpcpool_worker_threads_busy",
        "rpcpool_store_bytes",
        "rpcpool_store_values",
        "rpcpool_store_evictions_total",
        "rpcpool_sessions_open",
        "rpcpool_remote_objects_open",
        "rpcpool_connections_open",
        "process_resident_memory_bytes",
        "nodejs_eventloop_lag_seconds",
      ]) {
        expect(text).toMatch(new RegExp(`^${name}(\\{.*\\})? \\d`, "m"));
      }
      expect(sample(text, "rpcpool_connections_open")).toBeGreaterThanOrEqual(1);
    }
  });

  it("needs the server's bearer token: 401 without it, or with another", async () => {
    const url = servers[0]!.metricsUrl;
    const without = await scrape(url, false);
    expect(without.status).toBe(401);
    expect(without.text).not.toContain("grpc_server");
    const wrong = await fetch(url, { headers: { authorization: "Bearer not-the-token" } });
    expect(wrong.status).toBe(401);
    expect((await scrape(url)).status).toBe(200);
    expect((await fetch(url.replace("/metrics", "/other"))).status).toBe(404);
  });

  it("counts the calls the guard refuses too (the metrics' interceptor goes first)", async () => {
    const refused = { grpc_service: "rpcpool.pool.v1.InfoService", grpc_code: "Unauthenticated" };
    const before = sample((await scrape(servers[0]!.metricsUrl)).text, "grpc_server_handled_total", refused);
    await expect(Pool.connect([servers[0]!.address], { security: { token: "wrong" } })).rejects.toThrow(
      /UNAUTHENTICATED/,
    );
    const after = sample((await scrape(servers[0]!.metricsUrl)).text, "grpc_server_handled_total", refused);
    expect(after).toBe(before + 1);
  });
});

describe("--metrics start-up failures", () => {
  const server = (args: string[]) =>
    runProgram(serverProgram, ["--workers", "1", "--port", "0", ...args], { timeoutMs: 30_000 });

  it("refuses an address that is not HOST:PORT (exit 2)", async () => {
    const run = await server(["--metrics", "nowhere:port"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--metrics.*expected HOST:PORT/);
  });

  it("says a metrics port in use is in use, and stops the server it started (exit 1)", async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const taken = (holder.address() as { port: number }).port;
    try {
      const run = await server(["--metrics", `127.0.0.1:${taken}`]);
      expect(run.code).toBe(1);
      expect(run.stderr.trim()).toBe(`error: --metrics: port ${taken} is already in use on 127.0.0.1`);
      expect(run.stdout).toBe("");
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});

describe("deploy/grafana/rpcpool-dashboard.json", () => {
  it("queries only series a server exports (the queue's appear once a server takes tasks)", async () => {
    const dashboard = JSON.parse(readFileSync(join(root, "deploy/grafana/rpcpool-dashboard.json"), "utf8"));
    const exprs: string[] = dashboard.panels.flatMap((p: { targets: Array<{ expr: string }> }) =>
      p.targets.map((t) => t.expr),
    );
    const names = new Set(
      exprs.flatMap((e) => [...e.matchAll(/\b((?:grpc|rpcpool|process|nodejs)_\w+)\{/g)].map((m) => m[1]!)),
    );
    expect(names.size).toBeGreaterThan(10);
    const text = (await scrape(servers[0]!.metricsUrl)).text;
    for (const name of names) {
      if (name.startsWith("rpcpool_queue_")) continue;
      const base = name.replace(/_(bucket|sum|count)$/, "");
      expect(text, name).toMatch(new RegExp(`^# TYPE ${base} `, "m"));
    }
  });
});

describe("pool.metrics()", () => {
  it("has the grpc_client_* series: each call once under its own method, coalesced ones too", async () => {
    const registry = await pool.metrics();
    expect(await pool.metrics()).toBe(registry);
    const text = await registry.metrics();
    const circles = { ...compute, grpc_method: "Circles", grpc_type: "unary" };
    expect(sample(text, "grpc_client_handled_total", { ...circles, ...ok })).toBe(made.circles);
    expect(sample(text, "grpc_client_started_total", circles)).toBe(made.circles);
    expect(sample(text, "grpc_client_handled_total", { ...compute, grpc_method: "Means", ...ok })).toBe(
      made.means,
    );
    expect(sample(text, "grpc_client_handling_seconds_count", circles)).toBe(made.circles);
    expect(text).toMatch(/^# TYPE grpc_client_handling_seconds histogram$/m);
  });
});

describe.skipIf(noRedis)(`a queue worker's series${noRedis ? `: skipped, ${noRedis}` : ""}`, () => {
  let redis: RedisProcess | undefined;
  afterAll(async () => {
    await redis?.stop();
  });

  it("counts the tasks it took, those done and those failed, by method", async () => {
    redis = await startRedis();
    const port = await freePort();
    const worker = await startQueueServer(redis.url, ["--metrics", `127.0.0.1:${port}`]);
    const queue = new JobQueue(redis.url);
    try {
      const means = "/rpcpool.compute.v1.ComputeService/Means";
      const request = (values: number[]) =>
        Buffer.from(MeansRequest.encode({ lists: [{ values }] }).finish());
      // One good task, one refused (an empty list has no mean).
      const job = await queue.submit([
        { method: means, requests: [request([1, 2])] },
        { method: means, requests: [request([])] },
      ]);
      for (;;) {
        const status = await queue.status(job.id);
        if (status.done + status.failed === 2) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const { text } = await scrape(`http://127.0.0.1:${port}/metrics`, false);
      expect(sample(text, "rpcpool_queue_tasks_taken_total", { method: means })).toBe(2);
      expect(sample(text, "rpcpool_queue_tasks_done_total", { method: means })).toBe(1);
      expect(sample(text, "rpcpool_queue_tasks_failed_total", { method: means })).toBe(1);
      expect(sample(text, "rpcpool_queue_stalled_retaken_total", { method: means })).toBe(0);
    } finally {
      await queue.close();
      await worker.kill();
    }
  });
});
