import { performance } from "node:perf_hooks";
import { efficiency, karpFlatt, speedup } from "../metrics/speedup.js";
import { counted } from "./output.js";

/** The figures of a sequential run against a parallel one on n servers. */
export interface SpeedupSummary {
  servers: number;
  sequentialMs: number;
  parallelMs: number;
  speedup: number;
  /** E = S/n, n the calls that ran at once (`parallelCalls` where given, else the servers). */
  efficiency: number;
  /** Karp-Flatt serial fraction for the same n; null when n is 1. */
  serialFraction: number | null;
}

/**
 * The summary of a run. `processors` is the n of E = S/n: the calls that ran at once, which is
 * the number of servers when each runs one call at a time, and more when a server holds several
 * (sleeps overlap like the lesson's threads): against the servers alone, E would pass 1.
 */
export function speedupSummary(
  sequentialMs: number,
  parallelMs: number,
  servers: number,
  processors = servers,
): SpeedupSummary {
  const s = speedup(sequentialMs, parallelMs);
  return {
    servers,
    sequentialMs: round(sequentialMs),
    parallelMs: round(parallelMs),
    speedup: round(s, 3),
    efficiency: round(efficiency(s, processors), 3),
    serialFraction: processors > 1 ? round(karpFlatt(s, processors)!, 3) : null,
  };
}

/** The summary in words, times aligned; `parallelCalls` when it differs from the servers. */
export function describeSpeedup(s: SpeedupSummary, parallelCalls = s.servers): string {
  const parallel =
    parallelCalls === s.servers
      ? `parallel (${counted(s.servers, "server")}):`
      : `parallel (${counted(parallelCalls, "call")} at once on ${counted(s.servers, "server")}):`;
  const labels = ["sequential (1 server, one call at a time):", parallel];
  const width = Math.max(...labels.map((l) => l.length));
  const times = [s.sequentialMs, s.parallelMs].map((ms) => ms.toFixed(1));
  const timeWidth = Math.max(...times.map((t) => t.length));
  return [
    ...labels.map((label, i) => `${label.padEnd(width)} ${times[i]!.padStart(timeWidth)} ms`),
    `speed-up S = T1/Tn = ${s.speedup.toFixed(2)}   efficiency E = S/n = ${s.efficiency.toFixed(2)}` +
      ` (n = ${parallelCalls})` +
      (s.serialFraction === null ? "" : `   Karp-Flatt serial fraction = ${s.serialFraction.toFixed(3)}`),
  ].join("\n");
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Runs fn and returns its value with the wall time it took, in milliseconds. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - start };
}
