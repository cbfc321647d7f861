import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readOptionsFrom } from "../../csv/read-options.js";
import { fromScaled, nearestDouble, toScaled } from "../../exact/bigint-reference.js";
import { cutInto, ordinary, shuffled, wholeRange } from "../../exact/double-arbitraries.js";
import type { ExactSumWire } from "../../exact/exact-wire.js";
import { Float64Overflow, ZeroDivisor } from "../../exact/refusals.js";
import { finishMeans, mergeExact, roundSums, TableMerger } from "./merge-pieces.js";
import { sumTablePiece } from "./sum-table-piece.js";
import { weighTablePiece } from "./weigh-table-piece.js";

/**
 * Issue 9 at the level of tables: sums and weighted means equal the correctly rounded exact
 * values whatever the cells (the whole float64 range), however the table is cut into pieces (a
 * server's workers) and parts (servers, for a client that splits the file), in any merge order.
 */
const options = readOptionsFrom({});
const text = (rows: number[][]) => Buffer.from(rows.map((r) => r.map(String).join(";")).join("\n") + "\n");

/** A split: rows cut into parts, each part into pieces, merged in a shuffled order. */
interface Split {
  partCuts: number[];
  pieceCuts: number[][];
  order: number[];
}
const splits = fc.record({
  partCuts: fc.array(fc.nat(), { maxLength: 5 }),
  pieceCuts: fc.array(fc.array(fc.nat(), { maxLength: 5 }), { maxLength: 6 }),
  order: fc.array(fc.nat({ max: 9 }), { maxLength: 10 }),
});

/** Each part of the split as a server reports it: exact sums of its pieces, merged in file order. */
function serverParts(rows: number[][], split: Split, weights?: Float64Array) {
  let rowsBefore = 0;
  return cutInto(rows, split.partCuts).map((part, p) => {
    const merger = new TableMerger(1, rows[0]?.length ?? 0);
    for (const piece of cutInto(part, split.pieceCuts[p] ?? [])) {
      const bytes = text(piece);
      if (weights) merger.addWeighted(weighTablePiece(bytes, options, weights, rowsBefore));
      else merger.addSum(sumTablePiece(bytes, options));
      rowsBefore += piece.length;
    }
    expect(merger.error()).toBeUndefined();
    return merger;
  });
}

function refusal(compute: () => number[]): number[] | string {
  try {
    return compute();
  } catch (error) {
    if (error instanceof Float64Overflow) return `${error.column}: ${error.message}`;
    if (error instanceof ZeroDivisor) return error.message;
    throw error;
  }
}

/** What the reference says of columns: values, or the refusal of the first beyond float64. */
function referenceOutcome(values: number[], what: string): number[] | string {
  const beyond = values.findIndex((v) => !Number.isFinite(v));
  return beyond < 0 ? values : `${beyond + 1}: column ${beyond + 1}: ${what} is beyond float64 range`;
}

const columnsOf = (rows: number[][]) =>
  Array.from({ length: rows[0]!.length }, (_, c) => rows.map((r) => r[c]!));
const table = (cells: fc.Arbitrary<number>) =>
  fc
    .integer({ min: 1, max: 3 })
    .chain((width) =>
      fc.array(fc.array(cells, { minLength: width, maxLength: width }), { minLength: 1, maxLength: 25 }),
    );

describe("column sums of a table", () => {
  const sums = (body: string) => {
    const merger = new TableMerger();
    merger.addSum(sumTablePiece(Buffer.from(body), options));
    return refusal(() => merger.sums());
  };

  it("are exact whatever overflows in between (issue 9: were Infinity)", () => {
    expect(sums("1e308\n1e308\n-1e308\n")).toEqual([1e308]);
    expect(sums("1e308\n1e308\n-1e308\n-1e308\n-1e308\n")).toEqual([-1e308]);
  });

  it("refuse a column whose exact sum is beyond float64, naming it", () => {
    expect(sums("1;1e308\n2;1e308\n")).toBe("2: column 2: the exact sum is beyond float64 range");
    expect(roundSums([{ partials: [1], scaled: [] }])).toEqual([1]);
  });

  it("equal the correctly rounded exact sums however split and merged (BigInt reference)", () => {
    fc.assert(
      fc.property(table(fc.oneof(wholeRange, ordinary)), splits, (rows, split) => {
        const reference = columnsOf(rows).map((column) =>
          fromScaled(column.reduce((s, x) => s + toScaled(x), 0n)),
        );
        const expected = referenceOutcome(reference, "the exact sum");
        const parts = serverParts(rows, split);
        for (const part of parts) expect(part.exactSums().every(finiteWire)).toBe(true);
        const merged = mergeExact(shuffled(parts, split.order).map((part) => part.exactSums()));
        expect(refusal(() => roundSums(merged))).toEqual(expected);
        // One server, one piece: the same bits.
        expect(
          refusal(() => serverParts(rows, { partCuts: [], pieceCuts: [], order: [] })[0]!.sums()),
        ).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});

describe("weighted means of a table", () => {
  const means = (body: string, weights: number[], divisor: "weights" | "rows" = "weights") => {
    const merger = new TableMerger();
    merger.addWeighted(weighTablePiece(Buffer.from(body), options, Float64Array.from(weights), 0));
    return refusal(() =>
      finishMeans(merger.weightedSums(), divisor === "rows" ? merger.rows : merger.weightSum()),
    );
  };

  it("are the correctly rounded exact quotients (issue 9's examples)", () => {
    expect(means("-2e300\n", [1])).toEqual([-2e300]);
    expect(means("1e-200\n", [1e-200])).toEqual([1e-200]);
    expect(means("5269.045\n4075.524\n", [1.2, 0.2])).toEqual([5098.542]);
    expect(means("1e308\n1e308\n", [1, 1], "rows")).toEqual([1e308]);
  });

  it("refuse weights that sum to zero, and a mean beyond float64 naming its column", () => {
    expect(means("1\n2\n", [1, -1])).toBe("weights sum to zero");
    expect(means("1;1e308\n1;-1e308\n", [2, -1])).toBe(
      "2: column 2: the weighted mean is beyond float64 range",
    );
  });

  it("equal the rational reference however split, by the weights and by rows", () => {
    const weightsAndTable = table(wholeRange).chain((rows) =>
      fc.tuple(
        fc.constant(rows),
        fc.array(fc.oneof(wholeRange, ordinary), { minLength: rows.length, maxLength: rows.length }),
      ),
    );
    fc.assert(
      fc.property(weightsAndTable, splits, ([rows, weights], split) => {
        const w = Float64Array.from(weights);
        const parts = serverParts(rows, split, w);
        const order = shuffled(parts, split.order);
        const weighted = mergeExact(order.map((part) => part.weightedSums()));
        const weightSum = mergeExact(order.map((part) => [part.weightSum()]))[0]!;
        const products = columnsOf(rows).map((column) =>
          column.reduce((s, x, i) => s + toScaled(weights[i]!) * toScaled(x), 0n),
        );
        // Products count units of 2^-2148, weights units of 2^-1074: the quotient, units of 2^-1074.
        const weightUnits = weights.reduce((s, x) => s + toScaled(x), 0n);
        const byWeights =
          weightUnits === 0n
            ? "weights sum to zero"
            : referenceOutcome(
                products.map((p) => nearestDouble(p, weightUnits)),
                "the weighted mean",
              );
        expect(refusal(() => finishMeans(weighted, weightSum))).toEqual(byWeights);
        const rowCount = BigInt(rows.length) << 1074n;
        const byRows = referenceOutcome(
          products.map((p) => nearestDouble(p, rowCount)),
          "the weighted mean",
        );
        expect(refusal(() => finishMeans(weighted, rows.length))).toEqual(byRows);
      }),
      { numRuns: 300 },
    );
  });
});

function finiteWire(sum: ExactSumWire): boolean {
  return [...sum.partials, ...sum.scaled.flatMap((band) => band.partials)].every(Number.isFinite);
}
