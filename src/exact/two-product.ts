/**
 * Exact products without FMA: a*b = hi + lo exactly (Dekker's algorithm with Veltkamp's split),
 * valid while the product neither overflows nor underflows.
 */
const SPLITTER = 134217729; // 2^27 + 1

/** Writes hi and lo of a*b into out[0], out[1]. */
export function twoProduct(a: number, b: number, out: Float64Array): void {
  const hi = a * b;
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  out[0] = hi;
  out[1] = al * bl - (hi - ah * bh - al * bh - ah * bl);
}
