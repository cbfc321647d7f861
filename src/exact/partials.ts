/**
 * Shewchuk's non-overlapping partials, as in Python's math.fsum: each add keeps the exact running
 * sum as a few doubles, smallest magnitude first. Two-sum is exact for every pair of doubles,
 * subnormals included, as long as nothing overflows; ExactSum only adds terms small enough (and few
 * enough) that no partial and no intermediate sum ever comes near float64's limit.
 */
export class Partials {
  #p: Float64Array;
  #n = 0;

  constructor(capacity = 4) {
    this.#p = new Float64Array(capacity);
  }

  get length(): number {
    return this.#n;
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
    this.#n = i;
    // Like fsum, keep no zero partial: the sum of [-0.0] is 0.0, and an empty list means zero.
    if (x === 0) return;
    if (i === p.length) this.#grow();
    this.#p[i] = x;
    this.#n = i + 1;
  }

  /** The one partial when there is exactly one (the exact sum is that double), else undefined. */
  only(): number | undefined {
    return this.#n === 1 ? this.#p[0] : undefined;
  }

  /** Back to zero, keeping the memory: a sum reused for many short lists allocates nothing. */
  clear(): void {
    this.#n = 0;
  }

  /** The partials, smallest magnitude first. */
  toArray(): number[] {
    return Array.from(this.#p.subarray(0, this.#n));
  }

  /** The exact sum correctly rounded to float64 (fsum's last step, half to even across partials). */
  round(): number {
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
    // A tie at lo is decided by the sign of the partials below it.
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
