import { ZERO } from "./byte-codes.js";

/*
 * Eisel-Lemire (Lemire, "Number Parsing at a Gigabyte per Second", 2021; fast_float's
 * compute_float) for decimals of up to 19 significant digits: w * 10^q, w < 2^64, rounded once
 * to a double from the top 64 bits of w * 5^q. JavaScript has no 64-bit integers, so w and the
 * power are four 16-bit limbs each, and their 128-bit product is sixteen exact float64 products
 * (each below 2^32) summed per column and carried: no BigInt, no allocation.
 *
 * Only the first product is taken. When its low nine bits are all ones the truncated power may
 * have decided the rounding wrongly, and fast_float would take a second product; here the cell
 * goes to the slow path instead (1 in 512). So do exact halfway cases, subnormals, overflow and
 * exponents outside the table's -342..308: `undefined` means "not decided", never a guess.
 */

const MIN_Q = -342;
const MAX_Q = 308;
/** Each power's top 64 bits as four 16-bit limbs, least significant first; made on first use. */
const limbs = new Float64Array((MAX_Q - MIN_Q + 1) * 4);
const made = new Uint8Array(MAX_Q - MIN_Q + 1);

/** fast_float's 128-bit table entry for q (see its table_generation.py); the Wasm kernel's too. */
export function powerOfFive128(q: number): bigint {
  let c: bigint;
  if (q >= 0) {
    c = 5n ** BigInt(q);
    while (c < 1n << 127n) c <<= 1n;
    while (c >= 1n << 128n) c >>= 1n;
  } else {
    const power5 = 5n ** BigInt(-q);
    const z = BigInt(power5.toString(2).length - (power5 & (power5 - 1n) ? 0 : 1));
    const b = q >= -27 ? z + 127n : 2n * z + 128n;
    c = (1n << b) / power5 + 1n;
    while (c >= 1n << 128n) c >>= 1n;
  }
  return c;
}

/** The entry for q truncated to its top 64 bits, as four limbs. */
function makePower(q: number): void {
  const top = powerOfFive128(q) >> 64n;
  const i = (q - MIN_Q) * 4;
  for (let k = 0; k < 4; k++) limbs[i + k] = Number((top >> BigInt(16 * k)) & 0xffffn);
  made[q - MIN_Q] = 1;
}

/** 2^k for k in -1074..971, exact (halving and doubling are). */
const POW2 = new Float64Array(971 + 1074 + 1);
POW2[1074] = 1;
for (let k = 1; k <= 971; k++) POW2[1074 + k] = POW2[1073 + k]! * 2;
for (let k = 1; k <= 1074; k++) POW2[1074 - k] = POW2[1075 - k]! / 2;

const TWO_16 = 65536;
const TWO_32 = 2 ** 32;
const TWO_52 = 2 ** 52;
const TWO_53 = 2 ** 53;

/**
 * The double nearest to (hi * 2^32 + lo) * 10^q, for 0 < hi * 2^32 + lo < 2^64 (hi, lo uint32),
 * or undefined when this path cannot decide it.
 */
export function eiselLemire(hi: number, lo: number, q: number): number | undefined {
  if (q < MIN_Q || q > MAX_Q || (hi === 0 && lo === 0)) return undefined;
  if (made[q - MIN_Q] === 0) makePower(q);
  // Normalise w: its top bit at 2^63.
  let lz: number;
  if (hi === 0) {
    lz = 32 + Math.clz32(lo);
    hi = lz === 32 ? lo : (lo << (lz - 32)) >>> 0;
    lo = 0;
  } else {
    lz = Math.clz32(hi);
    if (lz > 0) {
      hi = ((hi << lz) | (lo >>> (32 - lz))) >>> 0;
      lo = (lo << lz) >>> 0;
    }
  }
  const w0 = lo & 0xffff;
  const w1 = lo >>> 16;
  const w2 = hi & 0xffff;
  const w3 = hi >>> 16;
  const i = (q - MIN_Q) * 4;
  const t0 = limbs[i]!;
  const t1 = limbs[i + 1]!;
  const t2 = limbs[i + 2]!;
  const t3 = limbs[i + 3]!;
  // Column k of the product holds sum(w_i * t_j, i + j = k): at most four terms below 2^32.
  let c = w0 * t0;
  let carry = Math.floor(c / TWO_16);
  const p0 = c - carry * TWO_16;
  c = w0 * t1 + w1 * t0 + carry;
  carry = Math.floor(c / TWO_16);
  const p1 = c - carry * TWO_16;
  c = w0 * t2 + w1 * t1 + w2 * t0 + carry;
  carry = Math.floor(c / TWO_16);
  const p2 = c - carry * TWO_16;
  c = w0 * t3 + w1 * t2 + w2 * t1 + w3 * t0 + carry;
  carry = Math.floor(c / TWO_16);
  const p3 = c - carry * TWO_16;
  c = w1 * t3 + w2 * t2 + w3 * t1 + carry;
  carry = Math.floor(c / TWO_16);
  const p4 = c - carry * TWO_16;
  c = w2 * t3 + w3 * t2 + carry;
  carry = Math.floor(c / TWO_16);
  const p5 = c - carry * TWO_16;
  c = w3 * t3 + carry;
  carry = Math.floor(c / TWO_16);
  const p6 = c - carry * TWO_16;
  const p7 = carry;
  // The product's high 64 bits are p7..p4. Nine low bits all ones: the truncation may matter.
  if ((p4 & 0x1ff) === 0x1ff) return undefined;
  const upper = p7 >>> 15;
  const shift = upper + 9;
  // The 54-bit mantissa m = high >> shift, kept as m >> 1 (53 bits, exact) and its round bit.
  const half = p7 * POW2[1074 + 47 - shift]! + p6 * POW2[1074 + 31 - shift]! + p5 * POW2[1074 + 15 - shift]!;
  const halfFloor = Math.floor(half + Math.floor(p4 / POW2[1074 + shift + 1]!));
  const roundBit = Math.floor(p4 / POW2[1074 + shift]!) & 1;
  let power2 = ((217706 * q) >> 16) + 63 + upper - lz + 1023;
  if (power2 <= 0) return undefined; // subnormal: the slow path
  // An exact halfway case (nothing below the round bit): fast_float rounds it to even; we defer.
  if (
    roundBit === 1 &&
    q >= -4 &&
    q <= 23 &&
    p3 === 0 &&
    p2 === 0 &&
    p1 === 0 &&
    p0 <= 1 &&
    (p4 & ((1 << shift) - 1)) === 0
  )
    return undefined;
  let mantissa = halfFloor + roundBit;
  if (mantissa >= TWO_53) {
    mantissa = TWO_52;
    power2++;
  }
  if (power2 >= 0x7ff) return undefined; // beyond float64: the slow path says Infinity
  return mantissa * POW2[power2 - 1075 + 1074]!;
}

/**
 * The double nearest to the validated decimal in bytes[start, end) (digits with at most one
 * `decimal`, no sign; an exponent part, if any, starts at the first other byte and its value is
 * `exponent`), by Eisel-Lemire; undefined when this path cannot decide, or when more than 19
 * significant digits are nonzero (it needs the digits exactly, below 2^64).
 */
export function eiselLemireDecimal(
  bytes: Uint8Array,
  start: number,
  end: number,
  decimal: number,
  exponent: number,
): number | undefined {
  let hi = 0;
  let lo = 0;
  let kept = 0;
  let afterPoint = false;
  // The decimal exponent of the last digit kept: dropped digits before the point each add one,
  // digits after it (leading zeros included) each take one.
  let q = exponent;
  for (let p = start; p < end; p++) {
    const c = bytes[p]!;
    if (c === decimal) {
      afterPoint = true;
      continue;
    }
    const d = c - ZERO;
    if (d >>> 0 >= 10) break; // the exponent's letter
    if (kept === 0 && d === 0) {
      if (afterPoint) q--;
      continue;
    }
    if (kept < 19) {
      // w = 10 w + d in two uint32 halves: 10 lo + d < 2^36 is exact, and w < 10^19 < 2^64.
      const low = lo * 10 + d;
      const carry = Math.floor(low / TWO_32);
      lo = low - carry * TWO_32;
      hi = hi * 10 + carry;
      kept++;
      if (afterPoint) q--;
    } else {
      if (d !== 0) return undefined;
      if (!afterPoint) q++;
    }
  }
  return eiselLemire(hi, lo, q);
}
