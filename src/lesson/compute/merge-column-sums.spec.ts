import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromScaled, toScaled } from "../../exact/bigint-reference.js";
import { ExactSum } from "../../exact/exact-sum.js";
import { toWire } from "../../exact/exact-wire.js";
import { type ColumnSumsPart, mergeColumnSums, WidthMismatch } from "./merge-column-sums.js";

/** A part as a server computes it: the exact sums of its rows' cells. */
function partOf(rows: number[][]): ColumnSumsPart {
  const columns = rows[0]?.length ?? 0;
  const sums = Array.from({ length: columns }, () => new ExactSum());
  for (const row of rows) for (const [c, x] of row.entries()) sums[c]!.add(x);
  return { rows: rows.length, columns, exact: sums.map(toWire), lines: rows.length, bytes: 0 };
}

const cell = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e300, max: 1e300 });

describe("mergeColumnSums", () => {
  it("is the correctly rounded exact sum of every cell, in any grouping", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.tuple(cell, cell, cell), { minLength: 1, maxLength: 6 }), {
          minLength: 1,
          maxLength: 8,
        }),
        (tables) => {
          const parts = tables.map((rows) => partOf(rows));
          const expected = [0, 1, 2].map((c) =>
            fromScaled(tables.flat().reduce((n, row) => n + toScaled(row[c]!), 0n)),
          );
          const all = mergeColumnSums(parts);
          expect(all.sums).toEqual(expected);
          expect(all.rows).toBe(tables.flat().length);
          // Merging merges: the same bits.
          const half = Math.ceil(parts.length / 2);
          const grouped = mergeColumnSums([
            mergeColumnSums(parts.slice(half).reverse()),
            mergeColumnSums(parts.slice(0, half)),
          ]);
          expect(grouped.sums).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("refuses parts of different widths, naming both; parts without rows fit any width", () => {
    const empty = { rows: 0, columns: 0, exact: [], lines: 1, bytes: 0 };
    expect(mergeColumnSums([empty, partOf([[1, 2]]), empty]).sums).toEqual([1, 2]);
    expect(() => mergeColumnSums([partOf([[1, 2]]), empty, partOf([[1, 2, 3]])])).toThrow(WidthMismatch);
    expect(() => mergeColumnSums([partOf([[1, 2]]), partOf([[1, 2, 3]])])).toThrow(
      /part 1 has 2 columns and part 2 has 3/,
    );
    expect(mergeColumnSums([])).toMatchObject({ rows: 0, columns: 0, sums: [] });
  });
});
