import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nearestDouble, toScaled } from "../../exact/bigint-reference.js";
import { wholeRange } from "../../exact/double-arbitraries.js";
import { Float64Overflow } from "../../exact/refusals.js";
import { lessonTableBytes } from "./lesson-table.js";
import { roundSums } from "./merge-pieces.js";
import { circles, meansOfLists, spin } from "./small-computations.js";
import { sumTablePiece } from "./sum-table-piece.js";

describe("circles", () => {
  it("gives the lesson's printed values with pi = 3.1415927", () => {
    const radii = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    const { lengths, areas } = circles(radii, 3.1415927);
    expect(lengths).toEqual([
      6.2831854, 12.5663708, 18.8495562, 25.1327416, 31.415927, 37.6991124, 43.9822978, 50.2654832,
      56.5486686,
    ]);
    expect(areas).toEqual([
      3.1415927, 12.5663708, 28.2743343, 50.2654832, 78.5398175, 113.0973372, 153.9380423, 201.0619328,
      254.4690087,
    ]);
  });

  it("uses Math.PI by default and refuses bad radii and pi", () => {
    expect(circles([1]).areas).toEqual([Math.PI]);
    expect(() => circles([1, -1])).toThrow(/radius 2 is -1/);
    expect(() => circles([Number.NaN])).toThrow(RangeError);
    expect(() => circles([Number.POSITIVE_INFINITY])).toThrow(RangeError);
    expect(() => circles([1], 0)).toThrow(/pi/);
  });

  it("refuses a length or area beyond float64 instead of answering Infinity (JSON null)", () => {
    expect(() => circles([1, 1e200])).toThrow(Float64Overflow);
    expect(() => circles([1, 1e200])).toThrow("radius 2 is 1e+200: its area pi*r^2 is beyond float64 range");
    expect(() => circles([1e308])).toThrow("radius 1 is 1e+308: its length 2*pi*r is beyond float64 range");
    expect(() => circles([0], 1e308)).toThrow(Float64Overflow);
    expect(circles([1e153]).areas[0]).toBe(Math.PI * 1e153 ** 2);
  });
});

describe("means of lists", () => {
  it("gives the lesson's means", () => {
    expect(
      meansOfLists([
        [1, 2, 3],
        [5, 2, 7],
        [4, 4, 4],
      ]),
    ).toEqual([2, 4.666666666666667, 4]);
  });

  it("refuses an empty list rather than answer NaN", () => {
    expect(() => meansOfLists([[1], []])).toThrow(/list 2 is empty/);
  });

  it("sums exactly before dividing", () => {
    expect(meansOfLists([[1e16, 1, -1e16]])).toEqual([1 / 3]);
  });

  it("rounds the exact mean once, as statistics.mean does (issue 9)", () => {
    expect(meansOfLists([[0.1, 0.2, 0.3]])).toEqual([0.2]);
    expect(meansOfLists([[1e308, 1e308]])).toEqual([1e308]);
    expect(meansOfLists([[-Number.MAX_VALUE, -Number.MAX_VALUE, -Number.MAX_VALUE]])).toEqual([
      -Number.MAX_VALUE,
    ]);
  });

  it("equals the rational reference for lists from the whole float64 range", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(wholeRange, { minLength: 1, maxLength: 12 }), { maxLength: 4 }),
        (lists) => {
          const reference = lists.map((list) =>
            nearestDouble(
              list.reduce((s, x) => s + toScaled(x), 0n),
              BigInt(list.length),
            ),
          );
          expect(meansOfLists(lists)).toEqual(reference);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("the lesson's table and spin", () => {
  it("has the lesson's column sums", () => {
    const piece = sumTablePiece(lessonTableBytes(), {
      delimiter: 0x3b,
      decimal: 0x2e,
      header: false,
      startsFile: true,
    });
    expect(piece.rows).toBe(10100);
    expect(piece.columns).toBe(40);
    const sums = roundSums(piece.sums);
    const ten = [54825, 259717, 186143, 424240, 264068, 994225, 362188, 313128, 339071, 277033];
    expect(sums).toEqual([...ten, ...ten, ...ten, ...ten]);
  });

  it("spin counts to its argument", () => {
    expect(spin(12345)).toBe(12345);
  });
});
