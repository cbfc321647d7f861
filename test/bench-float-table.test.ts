import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ExactColumnSum,
  floatCell,
  floatColumns,
  floatTable,
  seeded,
  ulpsApart,
} from "../bench/float-table.js";
import { fromScaled, toScaled } from "../src/exact/bigint-reference.js";
import { anyDouble, aroundEdges, subnormal } from "../src/exact/double-arbitraries.js";

// The bench's float table (issue 21) and the reference its sums are checked against: rpcpool must
// answer these sums bit for bit, and DuckDB's distance from them is reported in ulps.
describe("the bench's float table", () => {
  it("is the same table for the same seed, of the shape the issue asks for", () => {
    const table = floatTable(2000);
    expect(floatTable(2000).text.equals(table.text)).toBe(true);
    expect(floatTable(2000, 22).text.equals(table.text)).toBe(false);
    const rows = table.text.toString().trimEnd().split("\n");
    expect(rows).toHaveLength(2000);
    const cells = rows.flatMap((row) => row.split(";"));
    expect(cells).toHaveLength(2000 * floatColumns);
    const magnitudes = cells.map((cell) => Math.abs(Number(cell)));
    expect(Math.min(...magnitudes)).toBeGreaterThanOrEqual(1e-8);
    expect(Math.max(...magnitudes)).toBeLessThan(1e12);
    expect(Math.min(...magnitudes)).toBeLessThan(1e-7);
    expect(Math.max(...magnitudes)).toBeGreaterThan(1e11);
    // Both signs, both notations, 6 to 17 significant digits.
    expect(cells.some((cell) => cell.startsWith("-"))).toBe(true);
    expect(cells.some((cell) => !cell.startsWith("-"))).toBe(true);
    expect(cells.some((cell) => /e-\d$/.test(cell))).toBe(true);
    expect(cells.some((cell) => /^-?\d+\.\d+$/.test(cell))).toBe(true);
    const significant = (cell: string) => cell.replace(/e.*$|[-.]/g, "").replace(/^0+/, "").length;
    const digits = cells.map(significant);
    expect(Math.min(...digits)).toBeGreaterThanOrEqual(6);
    expect(Math.max(...digits)).toBe(17);
  });

  it("writes cells that are plain decimal numbers", () => {
    const random = seeded(7);
    for (let i = 0; i < 10_000; i++) expect(floatCell(random)).toMatch(/^-?(\d+(\.\d+)?|\d\.\d+e-\d)$/);
  });

  it("sums each column exactly, rounded once", () => {
    const table = floatTable(3000);
    const columns = table.text
      .toString()
      .trimEnd()
      .split("\n")
      .map((row) => row.split(";").map(Number));
    for (let c = 0; c < floatColumns; c++) {
      const exact = columns.reduce((sum, row) => sum + toScaled(row[c]!), 0n);
      expect(Object.is(table.exactSums[c], fromScaled(exact))).toBe(true);
    }
  });
});

describe("ExactColumnSum", () => {
  const reference = (values: number[]) => fromScaled(values.reduce((sum, x) => sum + toScaled(x), 0n));
  const sum = (values: number[]) => {
    const column = new ExactColumnSum();
    for (const value of values) column.add(value);
    return column.rounded();
  };

  it("is the BigInt reference for doubles from the whole range", () => {
    const finite = fc.oneof(anyDouble, aroundEdges, subnormal);
    fc.assert(
      fc.property(fc.array(finite, { maxLength: 40 }), (values) => {
        expect(sum(values)).toBe(reference(values));
      }),
      { numRuns: 300 },
    );
  });

  it("keeps what float64 addition loses", () => {
    expect(sum([0.1, 0.2, 0.3])).toBe(0.6);
    expect(sum([1e16, 1, -1e16])).toBe(1);
    expect(sum([2 ** 53, 1, 1])).toBe(2 ** 53 + 2);
    expect(sum([])).toBe(0);
    expect(() => sum([Number.NaN])).toThrow(RangeError);
  });
});

describe("ulpsApart", () => {
  it("counts the doubles between two values, across zero", () => {
    expect(ulpsApart(1, 1)).toBe(0);
    expect(ulpsApart(1, 1 + Number.EPSILON)).toBe(1);
    expect(ulpsApart(1 + 2 * Number.EPSILON, 1)).toBe(2);
    expect(ulpsApart(-0, 0)).toBe(0);
    expect(ulpsApart(-Number.MIN_VALUE, Number.MIN_VALUE)).toBe(2);
    expect(ulpsApart(-1, -1 - Number.EPSILON)).toBe(1);
  });
});
