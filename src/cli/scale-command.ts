import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";

import type { ServerConnection } from "../client/server-connection.js";
import { sleepCall, spinCall } from "../client/small-calls.js";
import { columnSumsCall } from "../client/table-calls.js";
import { lessonTableBytes } from "../lesson/compute/lesson-table.js";
import { type ScalingReport, scalingReport } from "../metrics/scaling-fit.js";
import { speedupReportHtml } from "../report/speedup-report.js";
import { writeJson, writeText } from "./json-output.js";
import { type CommonOptions, poolFromOptions } from "./pool-from-options.js";
import { textTable } from "./text-table.js";
import { timed } from "./timed.js";
import { UsageError } from "./usage-error.js";

export type Workload = "column-sums" | "spin" | "sleep";

export interface ScaleOptions extends CommonOptions {
  maxLocal?: number;
  workload: Workload;
  tasks: number;
  iterations: number;
  sleepMs: number;
  rows: number;
  report?: string;
}

/**
 * The lesson's measurement, for our own runs: the same workload on 1, 2, ... N servers, with
 * speed-up, efficiency, Karp-Flatt, and the Amdahl fit with its predictions for larger n.
 */
export async function scaleCommand(options: ScaleOptions, _command: Command) {
  if (options.servers !== undefined && options.maxLocal !== undefined) {
    throw new UsageError("--servers and --max-local exclude each other");
  }
  const pool = await poolFromOptions({ ...options, local: options.maxLocal ?? options.local });
  try {
    const task = await workloadTask(options);
    const times: Array<{ servers: number; ms: number }> = [];
    const inputs = Array.from({ length: options.tasks }, (_, i) => i);
    for (let n = 1; n <= pool.servers.length; n++) {
      const servers = pool.servers.slice(0, n);
      // One call per server per run: each server is one "processor", as the lesson's Pool(n) workers.
      const run = () =>
        pool.map(inputs, (_, server, signal) => task(server, signal), { servers, perServer: 1 });
      if (n === 1)
        await pool.map(pool.servers, (_, server, signal) => task(server, signal), { perServer: 1 });
      const { ms } = await timed(run);
      times.push({ servers: n, ms });
    }
    const report = scalingReport(times);
    if (options.report) {
      await writeFile(
        options.report,
        speedupReportHtml(report, {
          workload: describe(options),
          tasks: options.tasks,
          when: new Date().toISOString(),
        }),
      );
    }
    if (options.json) await writeJson({ workload: options.workload, tasks: options.tasks, ...report });
    else await writeText(describeReport(report, options));
  } finally {
    await pool.close();
  }
}

/** One task of the workload, as a call on a server. */
async function workloadTask(
  options: ScaleOptions,
): Promise<(server: ServerConnection, signal: AbortSignal) => Promise<unknown>> {
  switch (options.workload) {
    case "spin":
      return (server, signal) => spinCall(server, options.iterations, { signal });
    case "sleep":
      return (server, signal) => sleepCall(server, options.sleepMs, { signal });
    case "column-sums": {
      const file = join(tmpdir(), `rpcpool-scale-${process.pid}.csv`);
      await writeFile(file, lessonTableBytes(options.rows));
      return (server, signal) => columnSumsCall(server, file, {}, { signal });
    }
  }
}

function describe(options: ScaleOptions): string {
  if (options.workload === "spin") return `spin (count to ${options.iterations})`;
  if (options.workload === "sleep") return `sleep (${options.sleepMs} ms)`;
  return `column-sums (lesson table, ${options.rows} rows)`;
}

function describeReport(report: ScalingReport, options: ScaleOptions): string {
  const p = report.amdahl.parallelFraction;
  return [
    `${describe(options)}: ${options.tasks} tasks on 1..${report.runs.length} servers`,
    textTable(
      ["servers", "time ms", "speed-up", "efficiency", "serial fraction"],
      report.runs.map((r) => [
        r.servers,
        r.ms.toFixed(1),
        r.speedup.toFixed(3),
        r.efficiency.toFixed(3),
        r.serialFraction === null ? "" : r.serialFraction.toFixed(3),
      ]),
    ),
    p === null
      ? "Amdahl fit: needs runs on more than one server"
      : `Amdahl fit: parallel fraction p = ${p.toFixed(4)} (speed-up bound 1/(1-p) = ${
          p >= 1 ? "unbounded" : (1 / (1 - p)).toFixed(1)
        }); predicted: ${report.amdahl.predicted.map((a) => `n=${a.servers}: ${a.speedup.toFixed(2)}`).join(", ")}`,
    p === null
      ? ""
      : `Gustafson scaled speed-up: ${report.gustafson.map((g) => `n=${g.servers}: ${g.speedup.toFixed(2)}`).join(", ")}`,
    options.report ? `report written to ${options.report}` : "",
  ]
    .filter((line) => line !== "")
    .join("\n");
}
