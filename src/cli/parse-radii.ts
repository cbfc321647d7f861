import { UsageError } from "./usage-error.js";

/** "1,2,3" or "1..9" (whole steps) or a mix "1..3,7.5" into numbers; anything else is a usage error. */
export function parseRadii(value: string): number[] {
  const radii: number[] = [];
  for (const part of value.split(",").map((p) => p.trim())) {
    const range = /^(-?\d+)\.\.(-?\d+)$/.exec(part);
    if (range) {
      const from = Number(range[1]);
      const to = Number(range[2]);
      if (to < from) throw new UsageError(`--radii: empty range "${part}"`);
      if (to - from > 1_000_000) throw new UsageError(`--radii: range "${part}" is too long`);
      for (let r = from; r <= to; r++) radii.push(r);
      continue;
    }
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(part)) {
      throw new UsageError(`--radii: "${part}" is not a number or a range like 1..9`);
    }
    radii.push(Number(part));
  }
  return radii;
}
