import { constants } from "node:fs";
import { access, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Command } from "commander";

import { sleepTimeoutMs } from "../lesson/client/lesson-client.js";
import { demoMethods } from "../lesson/client/lesson-methods.js";
import { checkTimed } from "../lesson/client/lesson-replies.js";
import { columnSumsCall } from "../lesson/client/table-calls.js";
import { lessonTableBytes } from "../lesson/compute/lesson-table.js";
import { type ScalingReport, scalingReport } from "../metrics/scaling-fit.js";
import type { PoolServer } from "../pool/server-connection.js";
import { speedupReportHtml } from "../report/speedup-report.js";
import { counted, say, textTable, writeJson, writeText } from "./output.js";
import { type CommonOptions, poolFromOptions } from "./pool-from-options.js";
import { setExitCode, UsageError } from "./run-program.js";
import { timed } from "./speedup-summary.js";

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
export async function scaleCommand(options: ScaleOptions, command: Command) {
  if (options.servers !== undefined && options.maxLocal !== undefined) {
    throw new UsageError("--servers and --max-local exclude each other");
  }
  // A report that cannot be written is known before the experiment runs, not after.
  if (options.report) await checkWritable(options.report);
  const pool = await poolFromOptions({ ...options, local: options.maxLocal ?? options.local }, undefined, {
    processes: true,
  });
  let workload: Awaited<ReturnType<typeof workloadTask>> | undefined;
  try {
    workload = await workloadTask(options);
    const task = workload.task;
    const times: Array<{ servers: number; ms: number }> = [];
    const inputs = Array.from({ length: options.tasks }, (_, i) => i);
    // The servers --require allows, --prefer's first.
    const usable = pool.serversFor();
    for (let n = 1; n <= usable.length; n++) {
      const servers = usable.slice(0, n);
      // One call per server per run: each server is one "processor", as the lesson's Pool(n) workers.
      const run = () =>
        pool.map(inputs, (_, server, signal) => task(server, signal), { servers, perServer: 1 });
      if (n === 1) await pool.map(usable, (_, server, signal) => task(server, signal), { perServer: 1 });
      const { ms } = await timed(run);
      times.push({ servers: n, ms });
    }
    const report = scalingReport(times);
    // The figures first: should the report fail to be written after all, they are not lost.
    if (options.json) await writeJson({ workload: options.workload, tasks: options.tasks, ...report });
    else await writeText(describeReport(report, options));
    if (options.report) {
      try {
        await writeFile(
          options.report,
          speedupReportHtml(report, {
            workload: describe(options),
            tasks: options.tasks,
            when: new Date().toISOString(),
          }),
        );
        if (!options.json) say(`report written to ${options.report}`);
      } catch (error) {
        say(`error: --report: cannot write ${options.report}: ${(error as Error).message}`);
        setExitCode(command, 1);
      }
    }
  } finally {
    await pool.close();
    await workload?.cleanup();
  }
}

/** --report names a file that can be written: an existing writable file, or a new one in a writable folder. */
async function checkWritable(path: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) throw new UsageError(`--report: ${path} is a folder`);
  const target = info ? path : dirname(path);
  const folder = info ? undefined : await stat(target).catch(() => undefined);
  if (!info && !folder?.isDirectory()) throw new UsageError(`--report: ${target} is not a folder`);
  try {
    await access(target, constants.W_OK);
  } catch {
    throw new UsageError(`--report: ${info ? path : `the folder ${target}`} is not writable`);
  }
}

type Task = (server: PoolServer, signal: AbortSignal) => Promise<unknown>;

/** One task of the workload, as a call on a server (its reply checked), and what to clean up after. */
async function workloadTask(options: ScaleOptions): Promise<{ task: Task; cleanup: () => Promise<void> }> {
  const nothing = async () => {};
  switch (options.workload) {
    case "spin": {
      const request = { iterations: options.iterations };
      const task: Task = async (server, signal) => {
        const reply = await server.unary(demoMethods.spin!, request, { signal });
        checkTimed(server.address, reply, request);
        return reply;
      };
      return { task, cleanup: nothing };
    }
    case "sleep": {
      const task: Task = async (server, signal) => {
        const reply = await server.unary(
          demoMethods.sleep!,
          { milliseconds: options.sleepMs },
          { signal, timeoutMs: sleepTimeoutMs(options.sleepMs) },
        );
        checkTimed(server.address, reply);
        return reply;
      };
      return { task, cleanup: nothing };
    }
    case "column-sums": {
      const file = join(tmpdir(), `rpcpool-scale-${process.pid}.csv`);
      await writeFile(file, lessonTableBytes(options.rows));
      return {
        task: (server, signal) => columnSumsCall(server, file, { signal }),
        cleanup: () => rm(file, { force: true }),
      };
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
    `${describe(options)}: ${counted(options.tasks, "task")} on ${
      report.runs.length === 1 ? "1 server" : `1..${report.runs.length} servers`
    }`,
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
  ]
    .filter((line) => line !== "")
    .join("\n");
}
