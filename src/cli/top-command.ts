import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "commander";
import { labelsAsPairs } from "../rpc/server-labels.js";
import { textTable, writeJson } from "./output.js";
import type { CommonOptions } from "./pool-from-options.js";
import { setExitCode } from "./run-program.js";
import { type ServerRow, StatsSource, withoutSpans } from "./server-stats.js";

export interface TopOptions extends CommonOptions {
  intervalMs?: number;
  /** Refreshes before a live view ends by itself (default: until Ctrl-C). */
  count?: number;
}

/**
 * `rpcpool top`: each server's own figures (StatsService). With --json, or when stdout is not a
 * terminal, one snapshot; on a terminal a view redrawn every second until Ctrl-C. Exit code 1
 * when a server could not be asked (its row says why).
 */
export async function topCommand(options: TopOptions, command: Command): Promise<void> {
  const source = new StatsSource(options);
  try {
    if (options.json || !process.stdout.isTTY) {
      const rows = (await source.sample()).map(withoutSpans);
      if (options.json) await writeJson({ servers: rows });
      else process.stdout.write(`${topTable(rows)}\n`);
      if (rows.some((row) => row.error)) setExitCode(command, 1);
      return;
    }
    const stop = new AbortController();
    const onSigint = () => stop.abort();
    process.once("SIGINT", onSigint);
    let shown = 0;
    try {
      while (!stop.signal.aborted && (options.count === undefined || shown < options.count)) {
        const rows = await source.sample();
        // Home and clear the screen below: the view is redrawn in place, as top(1) does.
        process.stdout.write(`\x1b[H\x1b[J${new Date().toISOString()}  rpcpool top (Ctrl-C ends)\n\n`);
        process.stdout.write(`${topTable(rows)}\n`);
        shown++;
        // Node's own timer: ends early on the stop signal (its AbortError is no error here).
        await sleep(options.intervalMs ?? 1_000, undefined, { signal: stop.signal }).catch(() => {});
      }
    } finally {
      process.off("SIGINT", onSigint);
    }
  } finally {
    await source.close();
  }
}

/** The rows as a text table, one line a server; an unreachable one says so across. */
export function topTable(rows: ServerRow[]): string {
  const header = [
    "server",
    "name",
    "labels",
    "version",
    "uptime",
    "workers",
    "in flight",
    "completed",
    "failed",
    "calls/s",
    "p50 ms",
    "p95 ms",
    "store",
    "sessions",
    "queued",
  ];
  return textTable(
    header,
    rows.map((r) =>
      r.error
        ? [r.address, `unreachable: ${r.error}`, "", "", "", "", "", "", "", "", "", "", "", "", ""]
        : [
            r.address,
            r.name ?? "",
            labelsAsPairs(r.labels).join(","),
            r.version ?? "",
            duration(r.uptimeSeconds ?? 0),
            `${r.workersBusy}/${r.workers}`,
            r.inFlight ?? 0,
            r.completed ?? 0,
            r.failed ?? 0,
            (r.callsPerSecond ?? 0).toFixed(1),
            (r.p50Ms ?? 0).toFixed(1),
            (r.p95Ms ?? 0).toFixed(1),
            bytes(r.storeBytes ?? 0),
            r.sessions ?? 0,
            r.queuedTasks ?? 0,
          ],
    ),
  );
}

function duration(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1 << 20)).toFixed(1)} MiB`;
}
