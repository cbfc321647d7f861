import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readOptionsFrom } from "../../csv/read-options.js";
import { finishMeans, mergeExact, roundSums, TableMerger } from "./merge-pieces.js";
import { sumTablePiece } from "./sum-table-piece.js";
import { weighTablePiece } from "./weigh-table-piece.js";

const options = readOptionsFrom({});

/** Cuts bytes after the newlines at the given ranks into pieces, as a server or a client split would. */
function cutAtNewlines(bytes: Buffer, ranks: number[]): Buffer[] {
  const newlines: number[] = [];
  bytes.forEach((b, i) => {
    if (b === 0x0a) newlines.push(i + 1);
  });
  const cuts = [...new Set(ranks.map((r) => newlines[r % Math.max(1, newlines.length)] ?? 0))]
    .filter((c) => c > 0 && c < bytes.length)
    .sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    pieces.push(bytes.subarray(from, cut));
    from = cut;
  }
  return pieces;
}

function mergeSums(pieces: Buffer[], firstLine = 1) {
  const merger = new TableMerger(firstLine);
  for (const [i, piece] of pieces.entries())
    merger.addSum(sumTablePiece(piece, { ...options, startsFile: i === 0 }));
  return merger;
}

const decimal = fc
  .tuple(
    fc.integer({ min: -99999, max: 99999 }),
    fc.integer({ min: 0, max: 999 }),
    fc.integer({ min: -5, max: 5 }),
  )
  .map(([i, f, e]) => `${i}.${String(f).padStart(3, "0")}e${e}`);
const table = fc
  .integer({ min: 1, max: 5 })
  .chain((columns) =>
    fc.array(fc.array(decimal, { minLength: columns, maxLength: columns }), { minLength: 1, maxLength: 30 }),
  )
  .map((rows) => Buffer.from(rows.map((r) => r.join(";")).join("\n") + "\n"));

describe("pieces of a table", () => {
  it("merge to bit-identical sums however the table is cut at newlines", () => {
    fc.assert(
      fc.property(table, fc.array(fc.nat(), { maxLength: 6 }), (bytes, ranks) => {
        const whole = mergeSums([bytes]);
        const split = mergeSums(cutAtNewlines(bytes, ranks));
        expect(split.error()).toBeUndefined();
        expect(split.rows).toBe(whole.rows);
        expect(split.sums()).toEqual(whole.sums());
        // And across "servers": partials of parts merged again give the same bits.
        const parts = cutAtNewlines(bytes, ranks).map((p) => mergeSums([p]).exactSums());
        expect(roundSums(mergeExact(parts))).toEqual(whole.sums());
      }),
      { numRuns: 200 },
    );
  });

  it("report errors at the line of the whole file", () => {
    const bytes = Buffer.from("1;2\n3;4\n\n5;6\n7;x\n");
    const merger = mergeSums(cutAtNewlines(bytes, [0, 1, 2, 3]), 1);
    expect(merger.error()).toMatchObject({ line: 5, column: 2 });
    // A part that starts at line 101 of a file split by the client.
    expect(mergeSums([Buffer.from("1;2\n3;y\n")], 101).error()).toMatchObject({ line: 102, column: 2 });
  });

  it("report a row width that changes between pieces at the first row of the wrong width", () => {
    const merger = mergeSums([Buffer.from("1;2\n3;4\n"), Buffer.from("\n5;6;7\nbad\n")]);
    expect(merger.error()).toMatchObject({ line: 4, column: 3, message: "row has 3 cells, expected 2" });
  });

  it("give weighted means by the sum of weights or by rows, whatever the cut", () => {
    const bytes = Buffer.from("1;10\n2;20\n3;30\n");
    const weights = Float64Array.from([0.5, 0.25, 0.25]);
    for (const pieces of [[bytes], cutAtNewlines(bytes, [0, 1])]) {
      const merger = new TableMerger();
      let row = 0;
      pieces.forEach((piece, i) => {
        const part = weighTablePiece(piece, { ...options, startsFile: i === 0 }, weights, row);
        row += part.rows;
        merger.addWeighted(part);
      });
      expect(finishMeans(merger.weightedSums(), merger.weightSum())).toEqual([1.75, 17.5]);
      expect(finishMeans(merger.weightedSums(), merger.rows)).toEqual([1.75 / 3, 17.5 / 3]);
    }
  });

  it("count rows past the last weight without using them", () => {
    const part = weighTablePiece(Buffer.from("1\n2\n3\n"), options, Float64Array.from([1]), 0);
    expect(part.rows).toBe(3);
    expect(part.weightSum).toEqual({ partials: [1], scaled: [] });
  });
});

describe("random bytes", () => {
  it("never throw from the scanner: a result or a refusal", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, header) => {
        const piece = sumTablePiece(bytes, { ...options, header });
        if (piece.error) {
          expect(piece.error.line).toBeGreaterThan(0);
          expect(piece.error.column).toBeGreaterThan(0);
        } else expect(piece.sums).toHaveLength(piece.columns);
      }),
      { numRuns: 2000 },
    );
  });

  it("mutations of a valid table give a result or a refusal", () => {
    fc.assert(
      fc.property(
        table,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (bytes, edits) => {
          const mutated = Buffer.from(bytes);
          for (const [at, value] of edits) mutated[at % mutated.length] = value;
          const piece = sumTablePiece(mutated, options);
          expect(piece.error === undefined || piece.error.line >= 1).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});
