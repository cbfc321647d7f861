#!/usr/bin/env node
// npm run bench: every figure of the performance issue, measured in one run on this machine, in
// words as they come and then as one JSON line. Ratios compare figures taken in the same run.
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { lessonTableBytes } from "rpcpool/lesson";
import { callOverhead } from "./call-overhead.js";
import { demoScaling } from "./demo-scaling.js";
import { againstDuckdb } from "./duckdb-peer.js";
import { describeFigure, type Figure, met } from "./figures.js";
import { grpcThroughput } from "./grpc-throughput.js";
import { heteroServers } from "./hetero-servers.js";
import { loadTest } from "./load-test.js";
import { mapThroughput } from "./map-throughput.js";
import { metricsCost } from "./metrics-cost.js";
import { parseThroughput } from "./parse-throughput.js";
import { queueVsCelery } from "./queue-vs-celery.js";
import { serverMemory } from "./server-memory.js";
import { stdinVsFile } from "./stdin-stream.js";
import { tinyTasks } from "./tiny-tasks.js";
import { callTargets, wholePrograms } from "./whole-programs.js";

const quick = process.argv.includes("--quick");
// --whole: only the sections that issue 11 targets: the whole programs as a user runs them
// (against pandas, Dask, the lesson's Pool(2) and `node -e 0`), per-call overhead, server memory.
const wholeOnly = process.argv.includes("--whole");
// --queue: only the durable jobs against Celery (issue 13).
const queueOnly = process.argv.includes("--queue");
// --metrics: only the cost of --metrics and pool.metrics() (issue 19), on against off side by side.
const metricsOnly = process.argv.includes("--metrics");
// --stdin: only a table through standard input against the same file (issue 21).
const stdinOnly = process.argv.includes("--stdin");
// --hetero: only the servers of different speed (issue 20).
const heteroOnly = process.argv.includes("--hetero");
// --duckdb: only rpcpool against DuckDB, integer and float tables (issue 21); --map: only the
// throughput of `rpcpool map` (issue 21). Both are in --whole too.
const duckdbOnly = process.argv.includes("--duckdb");
const mapOnly = process.argv.includes("--map");
const dir = mkdtempSync(join(tmpdir(), "rpcpool-bench-"));
const figures: Figure[] = [];
const extra: Record<string, unknown> = {};
const say = (line: string) => process.stderr.write(`${line}\n`);

async function section(
  title: string,
  run: () => Promise<Figure[]>,
  options: {
    whole?: boolean;
    queue?: boolean;
    metrics?: boolean;
    stdin?: boolean;
    hetero?: boolean;
    duckdb?: boolean;
    map?: boolean;
  } = {},
) {
  if (duckdbOnly && !options.duckdb) return;
  if (mapOnly && !options.map) return;
  if (stdinOnly && !options.stdin) return;
  if (heteroOnly && !options.hetero) return;
  if (wholeOnly && !options.whole) return;
  if (queueOnly && !options.queue) return;
  if (metricsOnly && !options.metrics) return;
  say(`\n## ${title}`);
  const found = await run();
  for (const figure of found) say(`  ${describeFigure(figure)}`);
  figures.push(...found);
}

try {
  say(`rpcpool bench: ${availableParallelism()} cores (${cpus()[0]?.model}), Node ${process.version}`);
  await section(
    "durable jobs: rpcpool's queue against Celery, both on Redis (issue 13)",
    () =>
      queueVsCelery({
        tasks: quick ? 2000 : 10_000,
        samples: quick ? 50 : 200,
        workers: 2,
        say,
        serverArgs: process.env.RPCPOOL_BENCH_SERVER_ARGS?.split(" ").filter(Boolean),
      }),
    { queue: true },
  );
  // The lesson's table repeated to at least 100 MB (whole 7-row cycles; each row is ~105 bytes).
  const table = lessonTableBytes(
    queueOnly || metricsOnly || stdinOnly || heteroOnly || duckdbOnly || mapOnly
      ? 7
      : quick
        ? 7 * 30_000
        : 7 * 140_000,
  );
  let inProcess = 0;
  let inProcessJs = 0;
  await section(`parse and sum in one process (${(table.length / 1e6).toFixed(0)} MB)`, async () => {
    const found = parseThroughput(table, 5);
    inProcess = found[0]!.value;
    inProcessJs = found[1]!.value;
    return found;
  });
  await section(
    "the cost of metrics: --metrics and pool.metrics() on against off (issue 19)",
    async () => {
      const cost = await metricsCost({
        table: lessonTableBytes(quick ? 7 * 10_000 : 7 * 40_000),
        calls: quick ? 5000 : 10_000,
        rounds: quick ? 4 : 20,
        say,
      });
      // Off, on and their ratio for each figure, in the JSON line (key metricsCost).
      extra.metricsCost = cost.json;
      return cost.figures;
    },
    { metrics: true },
  );
  await section("through gRPC: one server, then fanned out", () => grpcThroughput(table, inProcess, dir));
  await section("per-call overhead", () => callOverhead(quick ? 1000 : 5000), { whole: true });
  await section("many tiny tasks", () => tinyTasks(10_000));
  await section("the lesson's demos on 1..N servers", async () => {
    const result = await demoScaling({ iterations: quick ? 100_000_000 : 600_000_000 });
    extra.spin = result.spin;
    extra.sleep = result.sleep;
    return result.figures;
  });
  await section("server memory", () => serverMemory(quick ? 0.2 : 1.1), { whole: true });
  await section("under load: 50 clients, 2 servers", async () => {
    const load = await loadTest({ dir, clients: 50, durationMs: quick ? 3000 : 15_000 });
    extra.load = load;
    if (load.failed || load.wrong || load.succeeded !== load.issued)
      throw new Error(`load test lost or broke calls: ${JSON.stringify(load)}`);
    return [
      {
        name: "load: tasks completed, every result checked",
        value: load.succeeded,
        unit: "tasks",
        note: `${load.issued} issued, 0 failed, 0 wrong`,
      },
      { name: "load: throughput", value: load.tasksPerSecond, unit: "tasks/s" },
      { name: "load: p50 latency", value: load.p50Ms, unit: "ms" },
      { name: "load: p99 latency", value: load.p99Ms, unit: "ms" },
      {
        name: "load: server RSS growth, second half over first half",
        value: Math.max(...load.rssMiB.map((r) => r.secondHalfPeak - r.firstHalfPeak)),
        unit: "MiB",
      },
    ];
  });
  await section(
    "servers of different speed: one at a quarter of the other's CPU (issue 20)",
    () =>
      heteroServers({
        dir,
        fileBytes: quick ? 24e6 : 48e6,
        fastCpu: Number(process.env.RPCPOOL_BENCH_HETERO_CPU ?? 0.4),
        say,
      }),
    { hetero: true },
  );
  await section(
    "whole programs, as a user runs them (issue 11)",
    async () => {
      const whole = await wholePrograms({
        say,
        quick,
        inProcessMBps: inProcess || undefined,
        inProcessJsMBps: inProcessJs || undefined,
      });
      extra.whole = whole.extra;
      return [...whole.figures, ...callTargets(figures)];
    },
    { whole: true },
  );
  await section(
    "a table through stdin against the same file (issue 21)",
    () => stdinVsFile({ say, dir, bytes: quick ? 105e6 : 1e9, rounds: quick ? 2 : 3 }),
    { whole: true, stdin: true },
  );
  await section(
    "against DuckDB: column sums of integer and float tables, one server (issue 21)",
    async () => {
      const result = await againstDuckdb({ say, quick });
      extra.duckdb = result.extra;
      return result.figures;
    },
    { whole: true, duckdb: true },
  );
  await section(
    "rpcpool map: tiny JSON-lines requests on 2 servers (issue 21)",
    async () => {
      const result = await mapThroughput({
        say,
        dir,
        lines: quick ? [50_000, 200_000] : [200_000, 1_000_000],
        rounds: quick ? 1 : 2,
      });
      extra.map = result.extra;
      return result.figures;
    },
    { whole: true, map: true },
  );
  const missed = figures.filter((f) => met(f) === false).map((f) => f.name);
  say(
    `\n${figures.filter((f) => f.target).length - missed.length} targets met; missed: ${missed.join("; ") || "none"}`,
  );
  process.stdout.write(
    `${JSON.stringify({
      machine: { cores: availableParallelism(), node: process.version },
      figures: figures.map((f) => ({ ...f, met: met(f) })),
      ...extra,
    })}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
