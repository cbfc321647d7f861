import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromScaled, toScaled } from "./bigint-reference.js";
import { BinnedSum } from "./binned-sum.js";
import { anyDouble, cutInto, wholeRange } from "./double-arbitraries.js";
import { ExactSum } from "./exact-sum.js";
import { Float64Overflow } from "./refusals.js";
import { seeded } from "./seeded-random.js";

/** The value of a sum, or the refusal's message, so that refusals compare like values. */
function outcome(sum: ExactSum): number | string {
  try {
    return sum.value();
  } catch (error) {
    if (error instanceof Float64Overflow) return error.message;
    throw error;
  }
}

function binned(xs: readonly number[]): ExactSum {
  const sum = new BinnedSum();
  for (const x of xs) sum.add(x);
  sum.flush();
  return sum.exact;
}

const bits = new DataView(new ArrayBuffer(8));
/** A double of random sign and 52 random fraction bits at the biased exponent (0: subnormal). */
function withExponent(random: () => number, biased: number): number {
  bits.setUint32(0, ((random() < 0.5 ? 0x800 : 0) | biased) * 2 ** 20 + Math.floor(random() * 2 ** 20));
  bits.setUint32(4, Math.floor(random() * 2 ** 32));
  return bits.getFloat64(0);
}

/**
 * Mixed magnitudes: mostly the float table's range (2^-30..2^42), then the window's edges (2^60
 * to 2^70, and the remainder's edge 2^-50..2^-40), subnormals, tiny and huge doubles, zeros, and
 * the negation of an earlier term (cancellation).
 */
function mixed(random: () => number, earlier: number[]): number {
  const kind = random();
  const exponent = (lo: number, hi: number) => 1023 + lo + Math.floor(random() * (hi - lo + 1));
  if (kind < 0.5) return withExponent(random, exponent(-30, 42));
  if (kind < 0.6) return withExponent(random, exponent(60, 70));
  if (kind < 0.7) return withExponent(random, exponent(-50, -40));
  if (kind < 0.75) return withExponent(random, 0);
  if (kind < 0.8) return withExponent(random, exponent(-1022, 1000));
  if (kind < 0.82) return random() < 0.5 ? 0 : -0;
  return earlier.length > 0 ? -earlier[Math.floor(random() * earlier.length)]! : 1;
}

describe("BinnedSum (a superaccumulator in front of ExactSum)", () => {
  it.each([
    [[0.1, 0.2, 0.3], 0.6],
    [[1e16, 1, -1e16], 1],
    [[2 ** 64, 1, -(2 ** 64)], 1],
    [[2 ** 64 - 2 ** 12, 2 ** -97, 2 ** -1074], 2 ** 64 - 2 ** 12],
    [[-0, -0], 0],
    [[2 ** -1074, 2 ** -1074], 2 ** -1073],
    [[1e308, 1e308, -1e308], 1e308],
  ])("sums %j to %d", (values, expected) => {
    expect(Object.is(binned(values).value(), expected)).toBe(true);
  });

  it("refuses what ExactSum refuses: Infinity, NaN, a sum beyond float64", () => {
    expect(() => binned([1, Number.POSITIVE_INFINITY])).toThrow(RangeError);
    expect(() => binned([Number.NaN])).toThrow(RangeError);
    expect(() => binned([Number.MAX_VALUE, Number.MAX_VALUE]).value()).toThrow(Float64Overflow);
  });

  it("stays exact across flushes with every term at the window's edge", () => {
    // 40 significant bits in bin 0 and 39 in bin 1: 2^13 and 2^14 of them fill a float64 exactly.
    const top = 2 ** 64 - 2 ** 24;
    const middle = -(2 ** 23 - 2 ** -16);
    const xs = Array.from({ length: 60_000 }, (_, i) => (i % 3 === 2 ? middle : top));
    expect(binned(xs).value()).toBe(fromScaled(xs.reduce((s, x) => s + toScaled(x), 0n)));
  });

  it("gives ExactSum's value bit for bit, over the whole float64 range", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(wholeRange, anyDouble), { maxLength: 60 }), (xs) => {
        expect(outcome(binned(xs))).toStrictEqual(outcome(ExactSum.of(xs)));
      }),
      { numRuns: 2000 },
    );
  });

  it("merges pieces exactly, however a column is cut", () => {
    fc.assert(
      fc.property(
        fc.array(wholeRange, { maxLength: 40 }),
        fc.array(fc.nat(40), { maxLength: 4 }),
        (xs, cuts) => {
          const merged = new ExactSum();
          for (const piece of cutInto(xs, cuts)) merged.merge(binned(piece));
          expect(outcome(merged)).toStrictEqual(outcome(ExactSum.of(xs)));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("matches the BigInt reference on two million mixed doubles, checked every 10,000", () => {
    const random = seeded(21);
    const sum = new BinnedSum();
    let reference = 0n;
    const earlier: number[] = [];
    for (let chunk = 0; chunk < 200; chunk++) {
      for (let i = 0; i < 10_000; i++) {
        const x = mixed(random, earlier);
        if (earlier.length < 1000) earlier.push(x);
        else earlier[Math.floor(random() * 1000)] = x;
        sum.add(x);
        reference += toScaled(x);
      }
      // Reading flushes: later terms go on into the same bins, as a running sum would.
      sum.flush();
      const expected = fromScaled(reference);
      expect(outcome(sum.exact)).toStrictEqual(
        Number.isFinite(expected) ? expected : "the exact sum is beyond float64 range",
      );
    }
  });
});
