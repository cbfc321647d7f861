import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nearestDouble, toScaled } from "./bigint-reference.js";
import { wholeRange } from "./double-arbitraries.js";
import { ExactSum } from "./exact-sum.js";
import { Float64Overflow } from "./refusals.js";
import { dekkerIsExact, twoProduct } from "./two-product.js";

/** The correctly rounded exact product, from BigInts (Infinity: beyond float64). */
const roundedProduct = (a: number, b: number) => nearestDouble(toScaled(a) * toScaled(b), 1n << 1074n);

function productOutcome(a: number, b: number): number | string {
  const sum = new ExactSum();
  sum.addProduct(a, b);
  try {
    return sum.value();
  } catch (error) {
    if (error instanceof Float64Overflow) return "overflow";
    throw error;
  }
}

describe("twoProduct", () => {
  it("is exact on products whose low half a float multiply drops", () => {
    const out = new Float64Array(2);
    const a = 2 ** 27 + 1;
    twoProduct(a, a, out);
    // (2^27+1)^2 = 2^54 + 2^28 + 1: the final 1 does not fit in hi.
    expect(out[0]).toBe(2 ** 54 + 2 ** 28);
    expect(out[1]).toBe(1);
  });

  it("makes hi + lo the exact product wherever dekkerIsExact says so, over the whole range", () => {
    const out = new Float64Array(2);
    fc.assert(
      fc.property(wholeRange, wholeRange, (a, b) => {
        twoProduct(a, b, out);
        if (!dekkerIsExact(a, b, out[0]!)) return;
        expect((toScaled(out[0]!) + toScaled(out[1]!)) << 1074n).toBe(toScaled(a) * toScaled(b));
      }),
      { numRuns: 5000 },
    );
  });

  it("refuses the cases where Dekker's split overflows or the product underflows", () => {
    expect(dekkerIsExact(1, -2e300, -2e300)).toBe(false);
    expect(dekkerIsExact(1e-200, 1e-200, 0)).toBe(false);
    expect(dekkerIsExact(0.5, 3.25, 1.625)).toBe(true);
  });
});

describe("ExactSum.addProduct", () => {
  it("is exact where Dekker is not (issue 9: was Infinity and 0)", () => {
    expect(productOutcome(1, -2e300)).toBe(-2e300);
    expect(productOutcome(-2e300, 1)).toBe(-2e300);
    expect(productOutcome(1e-200, 1e-200)).toBe(nearestDouble(toScaled(1e-200) ** 2n, 1n << 1074n));
    const tiny = new ExactSum();
    tiny.addProduct(1e-200, 1e-200);
    tiny.addProduct(-1e-200, 1e-200);
    tiny.addProduct(2 ** -1074, 2 ** -1074);
    // What is left is 2^-2148 exactly: no double holds it, but the sum keeps it.
    const { n, exp } = tiny.scaled();
    expect(n).toBe(1n << BigInt(-2148 - exp));
  });

  it("equals the correctly rounded exact product for any two doubles", () => {
    fc.assert(
      fc.property(wholeRange, wholeRange, (a, b) => {
        const reference = roundedProduct(a, b);
        expect(productOutcome(a, b)).toBe(Number.isFinite(reference) ? reference : "overflow");
      }),
      { numRuns: 3000 },
    );
  });

  it("sums products exactly: a sum of w*x over the whole range", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(wholeRange, wholeRange), { maxLength: 20 }), (pairs) => {
        const sum = new ExactSum();
        let exact = 0n;
        for (const [w, x] of pairs) {
          sum.addProduct(w, x);
          exact += toScaled(w) * toScaled(x);
        }
        const scaled = sum.scaled();
        // Compare the exact values themselves, both as multiples of 2^-2148.
        const shift = scaled.exp + 2148;
        expect(shift >= 0 ? scaled.n << BigInt(shift) : scaled.n).toBe(
          shift >= 0 ? exact : exact << BigInt(-shift),
        );
      }),
      { numRuns: 1000 },
    );
  });
});
