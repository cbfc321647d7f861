/**
 * The slow paths' arithmetic: exact scaling by powers of two, doubles as BigInt multiples of
 * 2^-1074, and the one correct rounding (half to even) of a BigInt value or quotient back to
 * float64. Everything here runs once per result (a column's sum or mean), never per cell.
 */

/** Every finite double is an integer multiple of 2^-1074. */
export const DOUBLE_UNIT_EXPONENT = -1074;

/**
 * x * 2^e, exact whenever the result is a double. One multiplication by 2^e cannot do it when 2^e
 * itself is beyond float64 (|e| > 1023); in steps each intermediate lies between x and the result,
 * so none of them overflows or loses a bit either.
 */
export function ldexp(x: number, e: number): number {
  let v = x;
  let k = e;
  while (k > 1023) {
    v *= 2 ** 1023;
    k -= 1023;
  }
  while (k < -1022) {
    v *= 2 ** -1022;
    k += 1022;
  }
  return v * 2 ** k;
}

/**
 * The exponent of x's leading bit give or take one (Math.log2 may round up to the next integer
 * just below a power of two). Callers only need it to choose a scale that keeps bits exact.
 */
export function roughExponent(x: number): number {
  return Math.floor(Math.log2(Math.abs(x)));
}

/** The finite double x as the BigInt x * 2^1074, exactly. */
export function toUnits(x: number): bigint {
  if (x === 0) return 0n;
  // x * 2^s is an integer below 2^55 (even with roughExponent off by one), so BigInt() takes it
  // exactly; tiny x cannot be scaled by more than 2^1074, which is exact for them anyway.
  const s = Math.min(-DOUBLE_UNIT_EXPONENT, 53 - roughExponent(x));
  return BigInt(ldexp(x, s)) << BigInt(-DOUBLE_UNIT_EXPONENT - s);
}

/** Bits of a positive BigInt, from its hex digits (one string per call: this is the slow path). */
export function bitLength(a: bigint): number {
  if (a === 0n) return 0;
  const hex = a.toString(16);
  return (hex.length - 1) * 4 + (32 - Math.clz32(Number.parseInt(hex[0]!, 16)));
}

/**
 * The double nearest to (n + f) * 2^exp, ties to even, where 0 <= f < 1 and `inexact` tells
 * f > 0. `inexact` decides only exact ties, so it needs n to reach at least two bits below the
 * result's last bit (roundQuotient makes sure). Beyond float64's range the answer is ±Infinity,
 * which callers turn into a refusal.
 */
export function roundScaled(n: bigint, exp: number, inexact = false): number {
  if (n === 0n) return 0;
  const negative = n < 0n;
  const a = negative ? -n : n;
  const top = bitLength(a) - 1 + exp;
  // The last bit the double can keep: 52 below the top one, never below 2^-1074 (subnormals).
  const last = Math.max(top - 52, DOUBLE_UNIT_EXPONENT);
  const drop = last - exp;
  let value: number;
  if (drop <= 0) value = ldexp(Number(a), exp);
  else {
    const d = BigInt(drop);
    let kept = a >> d;
    const rest = a - (kept << d);
    const half = 1n << (d - 1n);
    if (rest > half || (rest === half && (inexact || (kept & 1n) === 1n))) kept++;
    // kept <= 2^53, exact as a Number; a carry to 2^53 only moves the exponent up by one.
    value = ldexp(Number(kept), last);
  }
  return negative ? -value : value;
}

/** The double nearest to (n / d) * 2^exp, ties to even; d must not be 0. */
export function roundQuotient(n: bigint, d: bigint, exp: number): number {
  if (d === 0n) throw new RangeError("division by zero");
  if (n === 0n) return 0;
  const negative = n < 0n !== d < 0n;
  const a = n < 0n ? -n : n;
  const b = d < 0n ? -d : d;
  // Scale so that the integer quotient has at least 55 bits: 53 kept, one to round, one below.
  const shift = Math.max(0, 55 + bitLength(b) - bitLength(a));
  const scaled = a << BigInt(shift);
  const q = scaled / b;
  const value = roundScaled(q, exp - shift, q * b !== scaled);
  return negative ? -value : value;
}
