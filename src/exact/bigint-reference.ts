/**
 * An exact reference for specs, written independently of the code it checks: doubles as BigInt
 * multiples of 2^-1074, and back with correct rounding (IEEE round to nearest, ties to even, and
 * ±Infinity where that rounding overflows).
 */

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
/** Rounds n * 2^-1074 to the nearest double, ties to even; ±Infinity beyond float64. */
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

/** 2^1024 in units of 2^-1074: where IEEE rounding puts Infinity, an "even" neighbour of MAX_VALUE. */
const INFINITY_UNITS = 1n << (1024n + SCALE);

function bitsOf(x: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  return view.getBigUint64(0);
}

function fromBits(bits: bigint): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, bits);
  return view.getFloat64(0);
}

/**
 * The double nearest to the rational (n / d) * 2^-1074, ties to even; ±Infinity beyond float64.
 * A guess within an ulp, then exact comparisons with its neighbours decide: slow and plain.
 */
export function nearestDouble(n: bigint, d: bigint): number {
  if (d === 0n) throw new RangeError("d is 0");
  if (d < 0n) return nearestDouble(-n, -d);
  if (n < 0n) return -nearestDouble(-n, d);
  const guess = fromScaled(n / d);
  const bits = guess === Number.POSITIVE_INFINITY ? bitsOf(Number.MAX_VALUE) : bitsOf(guess);
  let best = guess;
  let bestDistance = -1n;
  for (const b of [bits - 1n, bits, bits + 1n]) {
    if (b < 0n) continue;
    const candidate = fromBits(b);
    const units = candidate === Number.POSITIVE_INFINITY ? INFINITY_UNITS : toScaled(candidate);
    const diff = n - d * units;
    const distance = diff < 0n ? -diff : diff;
    const even = (b & 1n) === 0n;
    if (bestDistance < 0n || distance < bestDistance || (distance === bestDistance && even)) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
