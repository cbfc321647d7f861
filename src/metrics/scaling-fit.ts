import { amdahl, efficiency, fitAmdahl, gustafson, karpFlatt, speedup } from "./speedup.js";

/** One run of a workload on n servers. */
export interface ScalingRun {
  servers: number;
  ms: number;
  speedup: number;
  efficiency: number;
  /** Karp-Flatt experimentally determined serial fraction; null for n = 1. */
  serialFraction: number | null;
}

export interface ScalingReport {
  runs: ScalingRun[];
  /** Amdahl's parallel fraction p fitted to all runs (least squares on 1/S), and what it predicts. */
  amdahl: {
    parallelFraction: number | null;
    maxSpeedup: number | null;
    predicted: Array<{ servers: number; speedup: number }>;
  };
  /** Gustafson's scaled speed-up with the same p: what a problem grown with n would gain. */
  gustafson: Array<{ servers: number; speedup: number }>;
}

export const predictionPoints = [4, 8, 16, 64];

/** The speed-up figures of timed runs with 1..N servers (the first run must be n = 1). */
export function scalingReport(times: Array<{ servers: number; ms: number }>): ScalingReport {
  const base = times.find((t) => t.servers === 1)?.ms;
  if (base === undefined) throw new RangeError("a scaling report needs a run on one server");
  const runs = times.map(({ servers, ms }) => {
    const s = speedup(base, ms);
    return {
      servers,
      ms,
      speedup: s,
      efficiency: efficiency(s, servers),
      serialFraction: karpFlatt(s, servers) ?? null,
    };
  });
  const p = fitAmdahl(runs.map((r) => ({ n: r.servers, speedup: r.speedup }))) ?? null;
  return {
    runs,
    amdahl: {
      parallelFraction: p,
      maxSpeedup: p === null ? null : p >= 1 ? Number.POSITIVE_INFINITY : 1 / (1 - p),
      predicted: p === null ? [] : predictionPoints.map((n) => ({ servers: n, speedup: amdahl(p, n) })),
    },
    gustafson: p === null ? [] : predictionPoints.map((n) => ({ servers: n, speedup: gustafson(p, n) })),
  };
}
