import { roundQuotient, toUnits } from "./binary-rounding.js";
import type { ExactSum, ScaledInteger } from "./exact-sum.js";
import { Float64Overflow, ZeroDivisor } from "./refusals.js";

/**
 * Means as Python's statistics.mean and fractions give them: the exact rational sum / divisor,
 * rounded once. Two correctly rounded sums divided would round twice and can miss by an ulp, and
 * would overflow when the sum is beyond float64 but the mean is not ([1e308, 1e308]).
 */
export function exactQuotient(sum: ExactSum, divisor: ExactSum | number, what = "the mean"): number {
  // When both are exactly doubles, IEEE division is the exact quotient rounded once, half to
  // even (subnormals included): no BigInt. A mean of a short list is nearly always this case,
  // and the BigInt path costs some 15 us a list. A zero sum takes the exact path (its sign).
  const single = sum.single();
  const by = typeof divisor === "number" ? divisor : divisor.single();
  if (single !== undefined && by !== undefined && by !== 0 && Number.isFinite(by)) {
    const value = single / by;
    if (!Number.isFinite(value)) throw new Float64Overflow(`${what} is beyond float64 range`);
    return value;
  }
  const n = sum.scaled();
  const d = typeof divisor === "number" ? scaledNumber(divisor) : divisor.scaled();
  if (d.n === 0n) throw new ZeroDivisor(`${what} divides by zero`);
  const value = roundQuotient(n.n, d.n, n.exp - d.exp);
  if (!Number.isFinite(value)) throw new Float64Overflow(`${what} is beyond float64 range`);
  return value;
}

function scaledNumber(x: number): ScaledInteger {
  if (!Number.isFinite(x)) throw new RangeError(`the divisor ${x} is not a finite number`);
  // Counts are integers: no need to scale them to 2^-1074.
  return Number.isInteger(x) ? { n: BigInt(x), exp: 0 } : { n: toUnits(x), exp: -1074 };
}
