import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toScaled } from "./bigint-reference.js";
import { ExactSum } from "./exact-sum.js";
import { twoProduct } from "./two-product.js";

describe("twoProduct", () => {
  it("splits a product into hi + lo exactly", () => {
    const out = new Float64Array(2);
    twoProduct(0.1, 0.1, out);
    expect(out[0]).toBe(0.1 * 0.1);
    expect(out[1]).not.toBe(0);
    fc.assert(
      fc.property(
        fc.double({ min: -1e100, max: 1e100, noNaN: true }),
        fc.double({ min: -1e100, max: 1e100, noNaN: true }),
        (a, b) => {
          // Dekker's split is exact only away from underflow (see two-product.ts).
          if (a !== 0 && b !== 0 && Math.abs(a * b) < 1e-290) return;
          twoProduct(a, b, out);
          expect(out[0]).toBe(a * b);
          // Rounding hi + lo gives back the float product (lo is below half an ulp of hi).
          expect(ExactSum.of([out[0]!, out[1]!]).value() === a * b).toBe(true);
          // And hi + lo is the exact product (away from underflow): compare as BigInts.
          if (a === 0 || b === 0 || Math.abs(a * b) > 1e-200) {
            expect((toScaled(out[0]!) + toScaled(out[1]!)) << 1074n).toBe(toScaled(a) * toScaled(b));
          }
        },
      ),
    );
  });

  it("is exact on products whose low half a float multiply drops", () => {
    const out = new Float64Array(2);
    const a = 2 ** 27 + 1;
    twoProduct(a, a, out);
    // (2^27+1)^2 = 2^54 + 2^28 + 1: the final 1 does not fit in hi.
    expect(out[0]).toBe(2 ** 54 + 2 ** 28);
    expect(out[1]).toBe(1);
  });
});
