import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromScaled, toScaled } from "./bigint-reference.js";
import { ExactSum } from "./exact-sum.js";

const exactSum = (xs: number[]) => fromScaled(xs.reduce((s, x) => s + toScaled(x), 0n));

describe("ExactSum (Python's math.fsum)", () => {
  it.each([
    [[1e16, 1, -1e16], 1],
    [Array(10).fill(0.1), 1.0],
    [[1e100, 1.0, -1e100, 1e-100, 1e50, -1.0, -1e50], 1e-100],
    [[2 ** 53, -0.5, -(2 ** -54)], 2 ** 53 - 1],
    [[2 ** 53, 1.0, 2 ** -100], 2 ** 53 + 2],
    [[2 ** 53 + 10.0, 1.0, 2 ** -100], 2 ** 53 + 12],
    [[2 ** 53 - 4.0, 0.5, 2 ** -54], 2 ** 53 - 3],
    [[1.7976931348623157e308, -1.7976931348623157e308, 1], 1],
    [[], 0],
    [[-0.5, 0.5], 0],
    [[1, 1e-16, 1e-16], 1.0000000000000002],
  ])("fsum(%j) = %d", (values, expected) => {
    expect(ExactSum.of(values).value()).toBe(expected);
  });

  it("sums ten 0.1 to exactly 1.0 where naive addition does not", () => {
    expect(
      Array(10)
        .fill(0.1)
        .reduce((a, b) => a + b),
    ).not.toBe(1);
    expect(ExactSum.of(Array(10).fill(0.1)).value()).toBe(1);
  });

  it("reports an overflowing exact sum as Infinity with its sign", () => {
    expect(ExactSum.of([1.7976931348623157e308, 1.7976931348623157e308]).value()).toBe(
      Number.POSITIVE_INFINITY,
    );
    expect(ExactSum.of([-1.7976931348623157e308, -1.7976931348623157e308]).value()).toBe(
      Number.NEGATIVE_INFINITY,
    );
  });

  const doubles = fc.oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e300, max: 1e300 }),
    fc.integer({ min: -1000, max: 1000 }).map((i) => i / 10),
    fc.double({ noNaN: true, noDefaultInfinity: true, min: -1, max: 1 }),
  );

  it("equals the correctly rounded exact sum (BigInt reference) for random doubles", () => {
    fc.assert(
      fc.property(fc.array(doubles, { maxLength: 40 }), (xs) => {
        expect(ExactSum.of(xs).value()).toBe(exactSum(xs));
      }),
      { numRuns: 400 },
    );
  });

  it("merges the partials of any split into the same bits as the whole", () => {
    fc.assert(
      fc.property(fc.array(doubles, { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 5 }), (xs, cuts) => {
        const points = [...new Set(cuts.map((c) => c % (xs.length + 1)))].sort((a, b) => a - b);
        const parts: number[][] = [];
        let from = 0;
        for (const to of [...points, xs.length]) {
          parts.push(xs.slice(from, to));
          from = to;
        }
        const merged = new ExactSum();
        for (const part of parts.reverse()) merged.addPartials(ExactSum.of(part).partials());
        expect(
          Object.is(merged.value(), ExactSum.of(xs).value()) || merged.value() === ExactSum.of(xs).value(),
        ).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
