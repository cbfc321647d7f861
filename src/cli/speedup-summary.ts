import { performance } from "node:perf_hooks";
import { efficiency, karpFlatt, speedup } from "../metrics/speedup.js";

/** The figures of a sequential run against a parallel one on n servers. */
export interface SpeedupSummary {
  servers: number;
  sequentialMs: number;
  parallelMs: number;
  speedup: number;
  efficiency: number;
  /** Karp-Flatt serial fraction; null with one server. */
  serialFraction: number | null;
}

export function speedupSummary(sequentialMs: number, parallelMs: number, servers: number): SpeedupSummary {
  const s = speedup(sequentialMs, parallelMs);
  return {
    servers,
    sequentialMs: round(sequentialMs),
    parallelMs: round(parallelMs),
    speedup: round(s, 3),
    efficiency: round(efficiency(s, servers), 3),
    serialFraction: servers > 1 ? round(karpFlatt(s, servers)!, 3) : null,
  };
}

export function describeSpeedup(s: SpeedupSummary): string {
  return [
    `sequential (1 server, one call at a time): ${s.sequentialMs.toFixed(1)} ms`,
    `parallel (${s.servers} servers):            ${s.parallelMs.toFixed(1)} ms`,
    `speed-up S = T1/Tn = ${s.speedup.toFixed(2)}   efficiency E = S/n = ${s.efficiency.toFixed(2)}` +
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
