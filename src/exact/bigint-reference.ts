/** An exact reference for specs: doubles as BigInt multiples of 2^-1074, and back with correct rounding. */

/** Exact reference: every finite double is an integer multiple of 2^-1074. */
export const SCALE = 1074n;
export function toScaled(x: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const sign = bits >> 63n ? -1n : 1n;
  const exp = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  const mant = exp === 0 ? frac : frac | (1n << 52n);
  const shift = BigInt(Math.max(exp, 1) - 1075) + SCALE;
  return sign * (mant << shift);
}
/** Rounds n * 2^-1074 to the nearest double, ties to even. */
export function fromScaled(n: bigint): number {
  if (n === 0n) return 0;
  const negative = n < 0n;
  const a = negative ? -n : n;
  const length = a.toString(2).length;
  let value: number;
  if (length <= 53) value = Number(a) * 2 ** -1074;
  else {
    let shift = length - 53;
    let m = a >> BigInt(shift);
    const rest = a - (m << BigInt(shift));
    const half = 1n << BigInt(shift - 1);
    if (rest > half || (rest === half && (m & 1n) === 1n)) m++;
    if (m === 1n << 53n) {
      m >>= 1n;
      shift++;
    }
    value = Number(m) * 2 ** (shift - 1074);
  }
  return negative ? -value : value;
}
