import cliProgress from "cli-progress";
import type { PoolEvent } from "../pool/outcome.js";
import { printable } from "./output.js";

/** What a command reports as a job advances. */
export interface JobProgress {
  onEvent(event: PoolEvent): void;
  /** Bytes of `file` sent (or read by the server) so far, counted as they go. */
  onBytes(bytes: number): void;
  stop(): void;
}

/** A job as the bars count it: its files, and for each task (a file or a part of one) its file. */
export interface JobPlan {
  files: number;
  /** Index of the file of each task, by task index. */
  fileOfTask: number[];
  totalBytes: number;
}

const silent: JobProgress = { onEvent() {}, onBytes() {}, stop() {} };

/** Signals that end the program: the bars give the terminal back before it goes. */
const endingSignals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * Progress bars for long jobs on a terminal: one for the whole job (bytes, and files done: a split
 * file counts once, when its last part is done) and one per server (the tasks it finished: files,
 * or parts of split files). Drawn on stderr, and only when stdout is a terminal and the output is
 * not JSON, so that piped and machine-read output never carries a bar. The bars hide the cursor
 * and turn line wrapping off; every way out (stop, Ctrl-C, a kill, an exit) turns them back on.
 */
export function jobProgress(plan: JobPlan, options: { json?: boolean }): JobProgress {
  if (options.json || !process.stdout.isTTY || !process.stderr.isTTY) return silent;
  const split = plan.fileOfTask.length > plan.files;
  const bars = new cliProgress.MultiBar(
    {
      stream: process.stderr,
      clearOnComplete: true,
      hideCursor: true,
      format: " {label} |{bar}| {value}/{total} {unit} {extra}",
      formatValue: (value, _options, type) =>
        type === "value" || type === "total" ? formatAmount(value) : String(value),
    },
    cliProgress.Presets.shades_classic,
  );
  const bytesBar = bars.create(plan.totalBytes, 0, { label: "bytes".padEnd(22), unit: "", extra: "" });
  const filesBar = bars.create(plan.files, 0, { label: "files".padEnd(22), unit: "", extra: "" });
  // Tasks still to settle per file: a file is done when its last part is.
  const left = new Map<number, number>();
  for (const file of plan.fileOfTask) left.set(file, (left.get(file) ?? 0) + 1);
  const settled = (task: number) => {
    const file = plan.fileOfTask[task];
    if (file === undefined) return;
    const remaining = (left.get(file) ?? 1) - 1;
    left.set(file, remaining);
    if (remaining === 0) filesBar.increment();
  };
  const perServer = new Map<string, { bar: cliProgress.SingleBar; done: number; running: number }>();
  let sent = 0;
  const serverBar = (server: string) => {
    let entry = perServer.get(server);
    if (!entry) {
      const bar = bars.create(plan.fileOfTask.length, 0, {
        label: printable(server).padEnd(22),
        unit: split ? "parts" : "files",
        extra: "",
      });
      entry = { bar, done: 0, running: 0 };
      perServer.set(server, entry);
    }
    return entry;
  };
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    for (const signal of endingSignals) process.off(signal, onSignal);
    process.off("exit", stop);
    // cli-progress draws on a timer (every 100 ms): a job done sooner was never drawn. Its bars
    // are drawn once, finished, before they are cleared, so every job's bars show its counts.
    bars.update();
    bars.stop();
  };
  // Ctrl-C: give the terminal back, then end as the signal would have ended the program, unless
  // the command handles it (a table job's Ctrl-C prints what finished: src/cli/interrupt.ts).
  const onSignal = (signal: NodeJS.Signals) => {
    stop();
    process.stderr.write("\n");
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  for (const signal of endingSignals) process.once(signal, onSignal);
  process.once("exit", stop);
  return {
    onEvent(event) {
      if (event.type === "started") {
        const entry = serverBar(event.server);
        entry.running++;
        entry.bar.update(entry.done, { extra: `(${entry.running} running)` });
      } else if (event.type === "done") {
        const entry = serverBar(event.server);
        entry.running--;
        entry.done++;
        entry.bar.update(entry.done, { extra: `(${entry.running} running)` });
        settled(event.index);
      } else if (event.type === "failed") {
        if (event.server !== undefined && perServer.has(event.server)) {
          const entry = serverBar(event.server);
          entry.running = Math.max(0, entry.running - 1);
          entry.bar.update(entry.done, { extra: `(${entry.running} running)` });
        }
        settled(event.index);
      } else if (event.type === "retried") {
        const entry = serverBar(event.from);
        entry.running--;
        entry.bar.update(entry.done, { extra: "(lost)" });
      }
    },
    onBytes(bytes) {
      sent += bytes;
      bytesBar.update(Math.min(sent, plan.totalBytes));
    },
    stop,
  };
}

function formatAmount(value: number): string {
  if (value >= 1 << 30) return `${(value / (1 << 30)).toFixed(1)}G`;
  if (value >= 1 << 20) return `${(value / (1 << 20)).toFixed(1)}M`;
  if (value >= 1 << 10) return `${(value / (1 << 10)).toFixed(1)}K`;
  return String(value);
}
