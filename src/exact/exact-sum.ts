import { DOUBLE_UNIT_EXPONENT, ldexp, roughExponent, roundScaled, toUnits } from "./binary-rounding.js";
import { Partials } from "./partials.js";
import { Float64Overflow } from "./refusals.js";
import { dekkerIsExact, twoProductLow } from "./two-product.js";

/** Terms below this go unscaled into the base band: fewer than 2^63 of them cannot overflow it. */
const BASE_LIMIT = 2 ** 960;
/** Scaled band k holds terms divided by 2^(k * BAND_STEP). */
const BAND_STEP = 600;
/** Bands -4..4 reach from below 2^-2148 (the smallest product of two doubles) to above 2^2048. */
const MAX_BAND = 4;

/** One band of an exact sum: the value is 2^exponent times the exact sum of the partials. */
export interface ExactBand {
  exponent: number;
  partials: number[];
}

/** An exact value as a BigInt and a power of two: n * 2^exp. */
export interface ScaledInteger {
  n: bigint;
  exp: number;
}

/**
 * An exact running sum of float64 values and of exact products of them, as in Python's math.fsum
 * but without its limits: nothing overflows in between and nothing underflows, so value() is the
 * correctly rounded exact sum whatever the order of the terms, and sums of parts merge exactly.
 *
 * The fast path is the base band: Shewchuk partials of every term below 2^960 (all ordinary cells
 * and Dekker products). A term beyond it (a cell near float64's limit, or a product too large or
 * too small for a double) goes into a scaled band, stored times a power of two that puts it near 1,
 * where it is exact and far from overflow. Only then does rounding take the BigInt path.
 */
export class ExactSum {
  readonly #base = new Partials();
  /** Band k at index k + MAX_BAND, made when a first term needs it. */
  #bands: Array<Partials | undefined> | undefined;

  static of(values: Iterable<number>): ExactSum {
    const sum = new ExactSum();
    for (const x of values) sum.add(x);
    return sum;
  }

  /** Adds a finite double (anything else is refused by the scaled path's check). */
  add(x: number): void {
    if (Math.abs(x) < BASE_LIMIT) this.#base.add(x);
    else this.addScaled(x, 0);
  }

  /** Adds a*b exactly, for any finite a and b. */
  addProduct(a: number, b: number): void {
    const hi = a * b;
    if (dekkerIsExact(a, b, hi)) {
      this.#base.add(hi);
      const lo = twoProductLow(a, b, hi);
      if (lo !== 0) this.#base.add(lo);
    } else this.#addProductSlow(a, b);
  }

  /** Adds m * 2^e exactly, m a finite double, as long as the term is within 2^±2700. */
  addScaled(m: number, e: number): void {
    if (!Number.isFinite(m)) throw new RangeError(`${m} is not a finite number`);
    if (m === 0) return;
    const band = Math.round((roughExponent(m) + e) / BAND_STEP);
    if (band < -MAX_BAND || band > MAX_BAND || !Number.isInteger(e))
      throw new RangeError(`a term ${m} * 2^${e} is outside the exact range`);
    // Within 2^±301 of 1 (give or take roughExponent's one), so the scaled term is exact.
    const stored = ldexp(m, e - band * BAND_STEP);
    if (band === 0) this.#base.add(stored);
    else this.#band(band).add(stored);
  }

  merge(other: ExactSum): void {
    for (const band of other.bands()) this.addBand(band);
  }

  /** Adds 2^exponent times the exact sum of the partials (one band of another sum, or of the wire). */
  addBand({ exponent, partials }: ExactBand): void {
    // The unscaled band's partials go where add() puts them: most stay on the fast path.
    if (exponent === 0) for (const p of partials) this.add(p);
    else for (const p of partials) this.addScaled(p, exponent);
  }

  /** The exact value as bands of partials: the unscaled one (exponent 0) first, empty bands left out. */
  bands(): ExactBand[] {
    const out: ExactBand[] = [];
    if (this.#base.length > 0) out.push({ exponent: 0, partials: this.#base.toArray() });
    this.#bands?.forEach((band, i) => {
      if (band && band.length > 0)
        out.push({ exponent: (i - MAX_BAND) * BAND_STEP, partials: band.toArray() });
    });
    return out;
  }

  /** The exact value as n * 2^exp. */
  scaled(): ScaledInteger {
    const bands = this.bands();
    if (bands.length === 0) return { n: 0n, exp: 0 };
    const low = Math.min(...bands.map((b) => b.exponent));
    let n = 0n;
    for (const { exponent, partials } of bands) {
      const shift = BigInt(exponent - low);
      for (const p of partials) n += toUnits(p) << shift;
    }
    return { n, exp: low + DOUBLE_UNIT_EXPONENT };
  }

  /**
   * The exact sum when it is one double exactly (one partial, no scaled band), else undefined:
   * quotients of such sums need no BigInt (see exactQuotient).
   */
  single(): number | undefined {
    if (this.#bands?.some((band) => band && band.length > 0)) return undefined;
    return this.#base.only();
  }

  /** Back to zero, keeping the base band's memory (see Partials.clear). */
  clear(): void {
    this.#base.clear();
    this.#bands = undefined;
  }

  /** The exact sum correctly rounded to float64, half to even; Float64Overflow beyond its range. */
  value(): number {
    let value: number;
    if (this.#bands === undefined) value = this.#base.round();
    else {
      const { n, exp } = this.scaled();
      value = roundScaled(n, exp);
    }
    if (!Number.isFinite(value)) throw new Float64Overflow("the exact sum is beyond float64 range");
    return value;
  }

  /** Products the Dekker test refuses: scaled to [1, 2) first, where Dekker is exact. */
  #addProductSlow(a: number, b: number): void {
    if (!Number.isFinite(a) || !Number.isFinite(b)) throw new RangeError(`${a} * ${b} is not finite`);
    if (a === 0 || b === 0) return;
    const ea = roughExponent(a);
    const eb = roughExponent(b);
    const ma = ldexp(a, -ea);
    const mb = ldexp(b, -eb);
    const hi = ma * mb;
    this.addScaled(hi, ea + eb);
    this.addScaled(twoProductLow(ma, mb, hi), ea + eb);
  }

  #band(k: number): Partials {
    this.#bands ??= [];
    const i = k + MAX_BAND;
    return (this.#bands[i] ??= new Partials());
  }
}
