/**
 * Exact products without FMA: a*b = hi + lo exactly (Dekker's algorithm with Veltkamp's split).
 * It is exact only while nothing overflows (the split multiplies by 2^27 + 1) and the error term
 * does not underflow; `dekkerIsExact` is the cheap test for that, and ExactSum.addProduct takes a
 * scaled slow path for the products it fails.
 */
const SPLITTER = 134217729; // 2^27 + 1

/** Operands below this split without overflow: (2^27 + 1) * a stays below 2^1023. */
const SPLIT_LIMIT = 2 ** 995;
/**
 * Products between these are exact as hi + lo: above the lower bound the error term's bits (down
 * to 2^-104 of the product) are all above 2^-1074; the upper bound keeps every partial product
 * finite and the terms small enough for ExactSum's unscaled band.
 */
const PRODUCT_LOW = 2 ** -960;
const PRODUCT_HIGH = 2 ** 960;

/** Whether twoProductLow(a, b, hi) makes hi + lo the exact product, hi being the float a*b. */
export function dekkerIsExact(a: number, b: number, hi: number): boolean {
  const h = Math.abs(hi);
  return h > PRODUCT_LOW && h < PRODUCT_HIGH && Math.abs(a) < SPLIT_LIMIT && Math.abs(b) < SPLIT_LIMIT;
}

/** The rounding error of hi = a*b: a*b - hi exactly, where dekkerIsExact(a, b, hi). */
export function twoProductLow(a: number, b: number, hi: number): number {
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return al * bl - (hi - ah * bh - al * bh - ah * bl);
}

/** Writes hi and lo of a*b into out[0], out[1] (exact where dekkerIsExact). */
export function twoProduct(a: number, b: number, out: Float64Array): void {
  const hi = a * b;
  out[0] = hi;
  out[1] = twoProductLow(a, b, hi);
}
