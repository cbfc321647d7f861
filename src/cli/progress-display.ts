import { stat } from "node:fs/promises";
import cliProgress from "cli-progress";
import type { PoolEvent } from "../pool/outcome.js";

/** What a command reports as a job advances. */
export interface JobProgress {
  onEvent(event: PoolEvent): void;
  /** Bytes of `file` sent (or read by the server) so far, counted as they go. */
  onBytes(bytes: number): void;
  stop(): void;
}

const silent: JobProgress = { onEvent() {}, onBytes() {}, stop() {} };

/**
 * Progress bars for long jobs on a terminal: one for the whole job (files and bytes) and one per
 * server (files it finished). Drawn on stderr, and only when stdout is a terminal and the output
 * is not JSON, so that piped and machine-read output never carries a bar.
 */
export function jobProgress(
  totalFiles: number,
  totalBytes: number,
  options: { json?: boolean },
): JobProgress {
  if (options.json || !process.stdout.isTTY || !process.stderr.isTTY) return silent;
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
  const bytesBar = bars.create(totalBytes, 0, { label: "bytes".padEnd(22), unit: "", extra: "" });
  const filesBar = bars.create(totalFiles, 0, { label: "files".padEnd(22), unit: "", extra: "" });
  const perServer = new Map<string, cliProgress.SingleBar>();
  const counts = new Map<string, { done: number; running: number }>();
  let sent = 0;
  const serverBar = (server: string) => {
    let bar = perServer.get(server);
    if (!bar) {
      bar = bars.create(totalFiles, 0, { label: server.padEnd(22), unit: "files", extra: "" });
      perServer.set(server, bar);
      counts.set(server, { done: 0, running: 0 });
    }
    return { bar, count: counts.get(server)! };
  };
  return {
    onEvent(event) {
      if (event.type === "started") {
        const { bar, count } = serverBar(event.server);
        count.running++;
        bar.update(count.done, { extra: `(${count.running} running)` });
      } else if (event.type === "done") {
        const { bar, count } = serverBar(event.server);
        count.running--;
        count.done++;
        bar.update(count.done, { extra: `(${count.running} running)` });
        filesBar.increment();
      } else if (event.type === "failed") {
        filesBar.increment();
      } else if (event.type === "retried") {
        const { bar, count } = serverBar(event.from);
        count.running--;
        bar.update(count.done, { extra: "(lost)" });
      }
    },
    onBytes(bytes) {
      sent += bytes;
      bytesBar.update(Math.min(sent, totalBytes));
    },
    stop() {
      bars.stop();
    },
  };
}

function formatAmount(value: number): string {
  if (value >= 1 << 30) return `${(value / (1 << 30)).toFixed(1)}G`;
  if (value >= 1 << 20) return `${(value / (1 << 20)).toFixed(1)}M`;
  if (value >= 1 << 10) return `${(value / (1 << 10)).toFixed(1)}K`;
  return String(value);
}

/** Total bytes of the files that exist (for progress; a missing file is reported by its task). */
export async function fileSizes(files: string[]): Promise<number> {
  const sizes = await Promise.all(
    files.map((file) =>
      stat(file).then(
        (s) => s.size,
        () => 0,
      ),
    ),
  );
  return sizes.reduce((a, b) => a + b, 0);
}
