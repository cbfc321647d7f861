import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nearestDouble, toScaled } from "./bigint-reference.js";
import { ordinary, wholeRange } from "./double-arbitraries.js";
import { exactQuotient } from "./exact-quotient.js";
import { ExactSum } from "./exact-sum.js";
import { Float64Overflow, ZeroDivisor } from "./refusals.js";

function outcome(compute: () => number): number | string {
  try {
    return compute();
  } catch (error) {
    if (error instanceof Float64Overflow) return "overflow";
    if (error instanceof ZeroDivisor) return "zero";
    throw error;
  }
}
const expected = (x: number) => (Number.isFinite(x) ? x : "overflow");

function weighted(pairs: Array<[number, number]>) {
  const products = new ExactSum();
  const weights = new ExactSum();
  for (const [w, x] of pairs) {
    products.addProduct(w, x);
    weights.add(w);
  }
  return { products, weights };
}

describe("exactQuotient", () => {
  it("divides exact sums once (statistics.mean with fractions)", () => {
    expect(exactQuotient(ExactSum.of([0.1, 0.2, 0.3]), 3)).toBe(0.2);
    expect(exactQuotient(ExactSum.of([1e308, 1e308]), 2)).toBe(1e308);
    expect(exactQuotient(ExactSum.of([1]), ExactSum.of([0.5, 0.25]))).toBe(4 / 3);
    expect(() => exactQuotient(ExactSum.of([1]), ExactSum.of([1, -1]))).toThrow(ZeroDivisor);
    expect(() => exactQuotient(ExactSum.of([Number.MAX_VALUE]), 0.5)).toThrow(Float64Overflow);
  });

  it("gives the weighted mean of the issue's examples", () => {
    const one = weighted([[1, -2e300]]);
    expect(exactQuotient(one.products, one.weights)).toBe(-2e300);
    const tiny = weighted([[1e-200, 1e-200]]);
    expect(exactQuotient(tiny.products, tiny.weights)).toBe(1e-200);
    const ordinaryInputs = weighted([
      [1.2, 5269.045],
      [0.2, 4075.524],
    ]);
    expect(exactQuotient(ordinaryInputs.products, ordinaryInputs.weights)).toBe(5098.542);
  });

  it("is the correctly rounded mean of any list (rational reference)", () => {
    fc.assert(
      fc.property(fc.array(wholeRange, { minLength: 1, maxLength: 30 }), (xs) => {
        const exact = xs.reduce((s, x) => s + toScaled(x), 0n);
        expect(outcome(() => exactQuotient(ExactSum.of(xs), xs.length))).toBe(
          expected(nearestDouble(exact, BigInt(xs.length))),
        );
      }),
      { numRuns: 1500 },
    );
  });

  it("takes IEEE division when sum and divisor are single doubles, with the same bits as the exact path", () => {
    // Short lists of small multiples of powers of two sum exactly to one double: the fast path.
    const cell = fc.tuple(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: -1070, max: 1000 }));
    fc.assert(
      fc.property(
        fc.array(cell, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: -50, max: 50 }),
        (cells, d) => {
          const xs = cells.map(([m, e]) => m * 2 ** Math.min(e, 1000 - 10));
          const sum = ExactSum.of(xs);
          const exact = xs.reduce((s, x) => s + toScaled(x), 0n);
          for (const divisor of [xs.length, d === 0 ? 1 : d / 8]) {
            const den = toScaled(divisor);
            // Both in units of 2^-1074: their ratio is the quotient.
            const reference = exact === 0n ? 0 : expected(nearestDouble(exact << 1074n, den));
            expect(outcome(() => exactQuotient(sum, divisor))).toBe(reference);
            expect(outcome(() => exactQuotient(sum, ExactSum.of([divisor])))).toBe(reference);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("is the correctly rounded sum(w*x) / sum(w) and sum(w*x) / rows for any weights and cells", () => {
    const pair = fc.tuple(fc.oneof(wholeRange, ordinary), wholeRange);
    fc.assert(
      fc.property(fc.array(pair, { minLength: 1, maxLength: 20 }), (pairs) => {
        const { products, weights } = weighted(pairs);
        const num = pairs.reduce((s, [w, x]) => s + toScaled(w) * toScaled(x), 0n);
        // num counts units of 2^-2148, den units of 2^-1074: num / den is in units of 2^-1074.
        const den = pairs.reduce((s, [w]) => s + toScaled(w), 0n);
        const byWeights = den === 0n ? "zero" : expected(nearestDouble(num, den));
        expect(outcome(() => exactQuotient(products, weights))).toBe(byWeights);
        const byRows = expected(nearestDouble(num, BigInt(pairs.length) << 1074n));
        expect(outcome(() => exactQuotient(products, pairs.length))).toBe(byRows);
      }),
      { numRuns: 1500 },
    );
  });
});
