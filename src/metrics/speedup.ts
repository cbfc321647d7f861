/**
 * The lesson's performance vocabulary, for our own runs: speed-up S = T1/Tn, efficiency E = S/n,
 * the Karp-Flatt experimentally determined serial fraction, and Amdahl's and Gustafson's laws.
 */
export const speedup = (sequential: number, parallel: number) => sequential / parallel;

export const efficiency = (speedupValue: number, n: number) => speedupValue / n;

/** Karp-Flatt serial fraction e = (1/S - 1/n) / (1 - 1/n); undefined for n = 1. */
export function karpFlatt(speedupValue: number, n: number): number | undefined {
  if (n <= 1) return undefined;
  return (1 / speedupValue - 1 / n) / (1 - 1 / n);
}

/** Amdahl: S(n) = 1 / (p/n + (1 - p)). */
export const amdahl = (p: number, n: number) => 1 / (p / n + (1 - p));

/** Gustafson's scaled speed-up: S(n) = n - (1 - p)(n - 1). */
export const gustafson = (p: number, n: number) => n - (1 - p) * (n - 1);

/**
 * The parallel fraction p that best fits measured speed-ups to Amdahl's law, by least squares on
 * 1/S = (1 - p) + p/n, which is linear in p: 1/S - 1 = p (1/n - 1). Clamped to [0, 1].
 */
export function fitAmdahl(points: Array<{ n: number; speedup: number }>): number | undefined {
  let num = 0;
  let den = 0;
  for (const { n, speedup: s } of points) {
    const x = 1 / n - 1;
    if (x === 0) continue;
    num += x * (1 / s - 1);
    den += x * x;
  }
  if (den === 0) return undefined;
  return Math.min(1, Math.max(0, num / den));
}
