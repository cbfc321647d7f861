import { ExactSum } from "./exact-sum.js";

/*
 * Fixed binary grids. Rounding x to a multiple of 2^b is (x + C) - C with C = 1.5 * 2^(52 + b):
 * exact for |x| < 2^(51 + b), since x + C then lies in [2^(52+b), 2^(53+b)), whose spacing is 2^b
 * (rounding to nearest-even picks one grid point), and subtracting C is exact. What is left,
 * x minus that grid point, is exact too: its bits are x's own bits below 2^(b-1).
 *
 * Grids 2^24, 2^-16, 2^-56, 2^-96 (40 bits apart) cut every |x| < 2^64 into four pieces:
 *   bin 0: a multiple of 2^24, at most 2^64;
 *   bin 1: a multiple of 2^-16, at most 2^23;
 *   bin 2: a multiple of 2^-56, at most 2^-17;
 *   bin 3: a multiple of 2^-96, at most 2^-57;
 * plus a remainder below 2^-97, zero for every double of magnitude 2^-44 (about 6e-14) or more.
 * A float64 adds multiples of 2^b exactly while the sum stays below 2^(53+b): bin 0 holds 2^13
 * pieces, bin 1 2^14, bins 2 and 3 more. FLUSH_EVERY keeps well inside that.
 */
const C0 = 1.5 * 2 ** 76;
const C1 = 1.5 * 2 ** 36;
const C2 = 1.5 * 2 ** -4;
const C3 = 1.5 * 2 ** -44;
/** Terms at least this large (and NaN, Infinity) skip the bins for the exact partials. */
const WINDOW = 2 ** 64;
/** Bins go into the exact partials after this many terms, long before any could round. */
const FLUSH_EVERY = 4096;

/**
 * An exact running sum of doubles that does not touch Shewchuk's partials per term: each term
 * below 2^64 is cut at fixed binary grids into four pieces that add exactly into four float64
 * bins (a fixed-point superaccumulator), and the bins go into an ExactSum every 4096 terms and
 * on flush(). A term outside the window, and a remainder below 2^-97, go to the ExactSum
 * directly. So `exact` always ends up with the exact sum of the terms, whatever the order and
 * the split: the rounded value and refusals are those of ExactSum, bit for bit.
 *
 * Why: a float column's partials grow to three or four doubles when its cells span 1e-8..1e12,
 * and each add walks them all with a two-sum and a branch per partial; here a term is twelve
 * flops and four adds, with no data-dependent branch in the common range.
 */
export class BinnedSum {
  readonly exact = new ExactSum();
  #b0 = 0;
  #b1 = 0;
  #b2 = 0;
  #b3 = 0;
  #terms = 0;

  add(x: number): void {
    if (!(Math.abs(x) < WINDOW)) {
      this.exact.add(x);
      return;
    }
    const h0 = x + C0 - C0;
    let r = x - h0;
    const h1 = r + C1 - C1;
    r -= h1;
    const h2 = r + C2 - C2;
    r -= h2;
    const h3 = r + C3 - C3;
    r -= h3;
    this.#b0 += h0;
    this.#b1 += h1;
    this.#b2 += h2;
    this.#b3 += h3;
    if (r !== 0) this.exact.add(r);
    if (++this.#terms === FLUSH_EVERY) this.flush();
  }

  /** Moves the bins into `exact`; call it before reading `exact`. */
  flush(): void {
    const exact = this.exact;
    // Largest first: fewer partials on the way.
    if (this.#b0 !== 0) exact.add(this.#b0);
    if (this.#b1 !== 0) exact.add(this.#b1);
    if (this.#b2 !== 0) exact.add(this.#b2);
    if (this.#b3 !== 0) exact.add(this.#b3);
    this.#b0 = 0;
    this.#b1 = 0;
    this.#b2 = 0;
    this.#b3 = 0;
    this.#terms = 0;
  }
}
