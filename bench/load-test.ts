import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Pool } from "rpcpool";
import { lessonTableBytes } from "rpcpool/lesson";
import { startLocalServers } from "rpcpool/protocol";
import { percentile } from "./figures.js";
import type { LoadClientArgs, LoadClientReport } from "./load-client.js";

export interface LoadOptions {
  clients?: number;
  /** Processes the clients are spread over (each client has its own connections anyway). */
  processes?: number;
  durationMs?: number;
  servers?: number;
  /** Rows of the medium task's table (the lesson's 10100 by default, about 1 MB). */
  tableRows?: number;
  dir: string;
}

export interface LoadResult {
  clients: number;
  servers: number;
  durationMs: number;
  issued: number;
  succeeded: number;
  failed: number;
  wrong: number;
  errors: string[];
  tasksPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /**
   * Each server's resident memory after a warm-up, its peaks in the first and second half of the
   * run (a leak shows as a second half above the first), and after the load.
   */
  rssMiB: Array<{ warm: number; firstHalfPeak: number; secondHalfPeak: number; after: number }>;
  /** Every sample: ms into the run, and each server's RSS in MiB. */
  samplesMiB: Array<{ at: number; rss: number[] }>;
}

// Run from dist/bench (npm run bench) or from the sources under vitest: the client is the built one.
const here = dirname(fileURLToPath(import.meta.url));
const clientProgram = [
  join(here, "load-client.js"),
  join(here, "..", "dist", "bench", "load-client.js"),
].find((path) => existsSync(path));

/** Starts a load client process; `running` resolves when its clients are connected. */
function runClients(args: LoadClientArgs): { running: Promise<void>; report: Promise<LoadClientReport> } {
  let running!: () => void;
  const isRunning = new Promise<void>((resolve) => (running = resolve));
  const report = new Promise<LoadClientReport>((resolve, reject) => {
    if (!clientProgram) throw new Error("the load client is not built: run `npm run build`");
    const child = spawn(process.execPath, [clientProgram, JSON.stringify(args)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (out.startsWith("running\n")) running();
    });
    child.stderr.on("data", (d) => (err += d));
    // Nothing may hang: the clients get the run's length plus a minute to report.
    const timer = setTimeout(() => child.kill("SIGKILL"), args.durationMs + 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      running();
      try {
        resolve(JSON.parse(out.replace(/^running\n/, "")));
      } catch {
        reject(new Error(`load client exited ${code} without a report: ${err}`));
      }
    });
  });
  return { running: isRunning, report };
}

/**
 * The load test: `clients` concurrent clients (each a Pool with TCP connections of its own) map
 * small and medium tasks over `servers` local servers for a bounded time. Every result is
 * checked, every issued task accounted for, and the servers' memory sampled.
 */
export async function loadTest(options: LoadOptions): Promise<LoadResult> {
  const clients = options.clients ?? 50;
  const processes = Math.min(clients, options.processes ?? 5);
  const durationMs = options.durationMs ?? 10_000;
  const tableRows = options.tableRows ?? 10100;
  const table = join(options.dir, "load-table.csv");
  await writeFile(table, lessonTableBytes(tableRows));
  const servers = await startLocalServers(options.servers ?? 2, { workers: 1, stderr: "ignore" });
  const observer = await Pool.connect(servers.map((s) => s.address));
  const rss = async () => {
    const infos = await Promise.all(observer.servers.map((s) => s.refreshInfo()));
    return infos.map((info) => info.rssBytes / 2 ** 20);
  };
  try {
    // Warm-up: one short round, so that the memory baseline includes worker threads and JIT.
    const addresses = servers.map((s) => s.address);
    await runClients({ servers: addresses, clients: 2, durationMs: 500, table, tableRows }).report;
    const warm = await rss();
    const runs = Array.from({ length: processes }, (_, p) =>
      runClients({
        servers: addresses,
        clients: Math.floor(clients / processes) + (p < clients % processes ? 1 : 0),
        durationMs,
        table,
        tableRows,
      }),
    );
    await Promise.all(runs.map((run) => run.running));
    const start = performance.now();
    const samples: Array<{ at: number; rss: number[] }> = [];
    const sampler = setInterval(async () => {
      const at = performance.now() - start;
      const now = await rss().catch(() => undefined);
      if (now && at < durationMs) samples.push({ at, rss: now });
    }, 250);
    const reports = await Promise.all(runs.map((run) => run.report));
    const elapsed = performance.now() - start;
    clearInterval(sampler);
    const after = await rss();
    const peak = (i: number, from: number, to: number) =>
      Math.max(0, ...samples.filter((s) => s.at >= from && s.at < to).map((s) => s.rss[i]!));
    const latencies = reports.flatMap((r) => r.latenciesUs).sort((a, b) => a - b);
    const total = (key: "issued" | "succeeded" | "failed" | "wrong") =>
      reports.reduce((n, r) => n + r[key], 0);
    return {
      clients,
      servers: servers.length,
      durationMs: elapsed,
      issued: total("issued"),
      succeeded: total("succeeded"),
      failed: total("failed"),
      wrong: total("wrong"),
      errors: reports.flatMap((r) => r.errors).slice(0, 10),
      tasksPerSecond: total("succeeded") / (elapsed / 1000),
      p50Ms: percentile(latencies, 50) / 1000,
      p99Ms: percentile(latencies, 99) / 1000,
      samplesMiB: samples,
      rssMiB: warm.map((w, i) => ({
        warm: w,
        firstHalfPeak: peak(i, 0, durationMs / 2),
        secondHalfPeak: peak(i, durationMs / 2, durationMs),
        after: after[i]!,
      })),
    };
  } finally {
    await observer.close();
    await Promise.all(servers.map((s) => s.stop()));
  }
}
