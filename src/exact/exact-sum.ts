/**
 * An exact running sum of float64 values, as in Python's math.fsum: Shewchuk's non-overlapping
 * partials hold the exact value, and value() rounds it correctly once at the end. Because the
 * partials are the exact sum, sums of parts merge exactly: the result does not depend on how the
 * values were split or ordered.
 */
export class ExactSum {
  #p: Float64Array;
  #n = 0;
  /** Set when an intermediate sum left float64's range: the exact value is then out of reach. */
  #overflow = 0;

  constructor(capacity = 4) {
    this.#p = new Float64Array(capacity);
  }

  static of(values: Iterable<number>): ExactSum {
    const sum = new ExactSum();
    for (const x of values) sum.add(x);
    return sum;
  }

  static fromPartials(partials: readonly number[]): ExactSum {
    const sum = new ExactSum(Math.max(4, partials.length));
    sum.addPartials(partials);
    return sum;
  }

  add(value: number): void {
    const p = this.#p;
    let x = value;
    let i = 0;
    const n = this.#n;
    for (let j = 0; j < n; j++) {
      let y = p[j]!;
      if (Math.abs(x) < Math.abs(y)) {
        const t = x;
        x = y;
        y = t;
      }
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) p[i++] = lo;
      x = hi;
    }
    if (!Number.isFinite(x)) {
      // Python raises here; we keep the direction and report ±Infinity.
      if (this.#overflow === 0) this.#overflow = x > 0 || Number.isNaN(x) ? 1 : -1;
      this.#n = i;
      return;
    }
    this.#n = i;
    // Like fsum, keep no zero partial: the sum of [-0.0] is 0.0.
    if (x === 0) return;
    if (i === p.length) this.#grow();
    this.#p[i] = x;
    this.#n = i + 1;
  }

  addPartials(partials: readonly number[]): void {
    for (const x of partials) this.add(x);
  }

  merge(other: ExactSum): void {
    if (other.#overflow !== 0 && this.#overflow === 0) this.#overflow = other.#overflow;
    for (let j = 0; j < other.#n; j++) this.add(other.#p[j]!);
  }

  /** The exact value as non-overlapping partials, smallest magnitude first. */
  partials(): number[] {
    if (this.#overflow !== 0) return [this.#overflow * Number.POSITIVE_INFINITY];
    return Array.from(this.#p.subarray(0, this.#n));
  }

  /** The exact sum, correctly rounded to float64 (Python's fsum final step, half-even included). */
  value(): number {
    if (this.#overflow !== 0) return this.#overflow * Number.POSITIVE_INFINITY;
    const p = this.#p;
    let n = this.#n;
    if (n === 0) return 0;
    n--;
    let hi = p[n]!;
    let lo = 0;
    while (n > 0) {
      const x = hi;
      n--;
      const y = p[n]!;
      hi = x + y;
      const yr = hi - x;
      lo = y - yr;
      if (lo !== 0) break;
    }
    // Round half to even across the partials below: a tie at lo is decided by the sign of the rest.
    if (n > 0 && ((lo < 0 && p[n - 1]! < 0) || (lo > 0 && p[n - 1]! > 0))) {
      const y = lo * 2;
      const x = hi + y;
      const yr = x - hi;
      if (y === yr) hi = x;
    }
    return hi;
  }

  #grow(): void {
    const bigger = new Float64Array(this.#p.length * 2);
    bigger.set(this.#p);
    this.#p = bigger;
  }
}
