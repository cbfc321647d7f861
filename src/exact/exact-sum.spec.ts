import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromScaled, toScaled } from "./bigint-reference.js";
import { cutInto, shuffled, wholeRange } from "./double-arbitraries.js";
import { ExactSum } from "./exact-sum.js";
import { addWire, fromWire, toWire } from "./exact-wire.js";
import { Float64Overflow } from "./refusals.js";

const MAX = Number.MAX_VALUE;

/** The reference: the exact BigInt sum rounded once; Infinity means beyond float64. */
const exactSum = (xs: readonly number[]) => fromScaled(xs.reduce((s, x) => s + toScaled(x), 0n));

/** value() or "overflow", so that a refusal compares like a value. */
function outcome(sum: ExactSum): number | string {
  try {
    return sum.value();
  } catch (error) {
    if (error instanceof Float64Overflow) return error.message;
    throw error;
  }
}
const expected = (x: number) => (Number.isFinite(x) ? x : "the exact sum is beyond float64 range");

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
});

describe("ExactSum beyond fsum's limits", () => {
  it("is exact whatever overflows in between (issue 9: was Infinity)", () => {
    expect(ExactSum.of([1e308, 1e308, -1e308]).value()).toBe(1e308);
    expect(ExactSum.of([1e308, 1e308, -1e308, -1e308, -1e308]).value()).toBe(-1e308);
    expect(ExactSum.of([MAX, MAX, MAX, -MAX, -MAX, 2 ** -1074]).value()).toBe(MAX);
    expect(ExactSum.of([-MAX, -MAX, MAX, 1]).value()).toBe(-MAX);
  });

  it("gives the same bits in every order", () => {
    const values = [1e308, 1e308, -1e308, -1e308, -1e308, 5e-324, 1];
    for (let r = 0; r < 50; r++) {
      const order = shuffled(
        values,
        values.map((_, i) => (i * 7919 * (r + 1)) % 13),
      );
      expect(ExactSum.of(order).value()).toBe(-1e308);
    }
  });

  it("refuses an exact sum beyond float64 with Float64Overflow, never Infinity", () => {
    expect(() => ExactSum.of([MAX, MAX]).value()).toThrow(Float64Overflow);
    expect(() => ExactSum.of([-MAX, -MAX]).value()).toThrow(/beyond float64 range/);
    // Half an ulp above MAX_VALUE rounds to even, which is 2^1024: beyond. Just below stays MAX.
    expect(() => ExactSum.of([MAX, 2 ** 970]).value()).toThrow(Float64Overflow);
    expect(ExactSum.of([MAX, 2 ** 970, -(2 ** -1074)]).value()).toBe(MAX);
    expect(ExactSum.of([MAX, 2 ** 969]).value()).toBe(MAX);
  });

  it("keeps every partial on the wire finite", () => {
    const wire = toWire(ExactSum.of([MAX, MAX, 1, 2 ** -1074]));
    const all = [...wire.partials, ...wire.scaled.flatMap((band) => band.partials)];
    expect(all.every(Number.isFinite)).toBe(true);
    expect(() => fromWire(wire).value()).toThrow(Float64Overflow);
    const back = fromWire(wire);
    back.add(-MAX);
    expect(back.value()).toBe(MAX);
  });

  it("refuses a malformed wire sum", () => {
    expect(() => fromWire({ partials: [Number.POSITIVE_INFINITY], scaled: [] })).toThrow(RangeError);
    expect(() => fromWire({ partials: [], scaled: [{ exponent: 0.5, partials: [1] }] })).toThrow(RangeError);
    expect(() => fromWire({ partials: [], scaled: [{ exponent: 99_999, partials: [1] }] })).toThrow(
      RangeError,
    );
    // An older peer sends no bands at all.
    expect(fromWire({ partials: [1, 2] } as never).value()).toBe(3);
  });

  it("equals the correctly rounded exact sum over the whole float64 range (BigInt reference)", () => {
    fc.assert(
      fc.property(fc.array(wholeRange, { maxLength: 40 }), (xs) => {
        expect(outcome(ExactSum.of(xs))).toBe(expected(exactSum(xs)));
      }),
      { numRuns: 1500 },
    );
  });

  it("merges pieces and parts, split any way and merged in any order, to the same bits", () => {
    const cuts = fc.array(fc.nat(), { maxLength: 8 });
    fc.assert(
      fc.property(
        fc.array(wholeRange, { maxLength: 60 }),
        cuts,
        fc.array(cuts, { maxLength: 8 }),
        fc.array(fc.nat({ max: 9 }), { maxLength: 12 }),
        (xs, partCuts, pieceCuts, order) => {
          // Parts (one server each) cut into pieces (one worker each), merged as a server and a
          // client do: through the wire shape, in a random order at both levels.
          const parts = cutInto(xs, partCuts).map((part, p) => {
            const pieces = cutInto(part, pieceCuts[p] ?? []).map((piece) => toWire(ExactSum.of(piece)));
            const merged = new ExactSum();
            for (const piece of shuffled(pieces, order)) addWire(merged, piece);
            return toWire(merged);
          });
          const whole = new ExactSum();
          for (const part of shuffled(parts, order.slice().reverse())) addWire(whole, part);
          expect(outcome(whole)).toBe(expected(exactSum(xs)));
          expect(outcome(whole)).toBe(outcome(ExactSum.of(xs)));
        },
      ),
      { numRuns: 600 },
    );
  });
});
