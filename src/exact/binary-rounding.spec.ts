import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nearestDouble, toScaled } from "./bigint-reference.js";
import { bitLength, ldexp, roundQuotient, roundScaled, toUnits } from "./binary-rounding.js";
import { wholeRange } from "./double-arbitraries.js";

/** BigInts of every length up to 3000 bits, and exact ties: odd numbers one bit longer than 53. */
const bigints = fc.oneof(
  fc
    .integer({ min: 1, max: 3000 })
    .chain((bits) => fc.bigInt({ min: -(1n << BigInt(bits)), max: 1n << BigInt(bits) })),
  fc
    .tuple(fc.bigInt({ min: 1n << 52n, max: (1n << 53n) - 1n }), fc.nat({ max: 2000 }), fc.boolean())
    .map(([m, shift, negative]) => ((m * 2n + 1n) << BigInt(shift)) * (negative ? -1n : 1n)),
);
const exponents = fc.integer({ min: -4000, max: 1200 });

/** The reference's n * 2^exp, as a rational of units of 2^-1074. */
const reference = (n: bigint, d: bigint, exp: number) => {
  const e = BigInt(exp + 1074);
  return e >= 0n ? nearestDouble(n << e, d) : nearestDouble(n, d << -e);
};

describe("binary rounding", () => {
  it("converts every double to its exact units and scales them exactly", () => {
    fc.assert(
      fc.property(wholeRange, fc.integer({ min: -2200, max: 2200 }), (x, e) => {
        expect(toUnits(x)).toBe(toScaled(x));
        const exact = reference(toScaled(x), 1n, e - 1074);
        const up = BigInt(Math.max(e, 0));
        const down = BigInt(Math.max(-e, 0));
        // ldexp promises exactness only where the result is a double.
        if (Number.isFinite(exact) && toScaled(exact) << down === toScaled(x) << up)
          expect(toScaled(ldexp(x, e))).toBe(toScaled(exact));
      }),
      { numRuns: 3000 },
    );
  });

  it("counts bits", () => {
    fc.assert(
      fc.property(bigints, (n) => {
        const a = n < 0n ? -n : n;
        expect(bitLength(a)).toBe(a === 0n ? 0 : a.toString(2).length);
      }),
    );
  });

  it("rounds n * 2^exp to the nearest double, ties to even, Infinity beyond", () => {
    expect(roundScaled(3n, -1076)).toBe(2 ** -1074); // 0.75 units: up
    expect(roundScaled(1n, -1075)).toBe(0); // half a unit: to even, 0
    expect(roundScaled(3n, -1075)).toBe(2 ** -1073); // 1.5 units: to even, 2
    expect(roundScaled((1n << 54n) - 1n, 970)).toBe(Number.POSITIVE_INFINITY);
    fc.assert(
      fc.property(bigints, exponents, (n, exp) => {
        expect(roundScaled(n, exp)).toBe(reference(n, 1n, exp));
      }),
      { numRuns: 3000 },
    );
  });

  it("rounds quotients n / d * 2^exp once, like the rational reference", () => {
    expect(roundQuotient(1n, 3n, 0)).toBe(1 / 3);
    expect(roundQuotient(-6n, 4n, 0)).toBe(-1.5);
    expect(() => roundQuotient(1n, 0n, 0)).toThrow(RangeError);
    fc.assert(
      fc.property(bigints, bigints, exponents, (n, d, exp) => {
        if (d === 0n) return;
        expect(roundQuotient(n, d, exp)).toBe(reference(n, d, exp));
      }),
      { numRuns: 3000 },
    );
  });
});
