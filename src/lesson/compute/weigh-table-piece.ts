import type { ReadOptions } from "../../csv/read-options.js";
import { type PieceShape, scanTable, type TableSink } from "../../csv/table-scanner.js";
import { ExactSum } from "../../exact/exact-sum.js";
import { type ExactSumWire, toWire } from "../../exact/exact-wire.js";
import { outputColumns } from "./sum-table-piece.js";

/** Weighted sums of a piece, exact and mergeable as a SumPiece is. */
export interface WeightedPiece extends PieceShape {
  /** Per column, the exact sum of w*x (each product taken exactly). */
  weightedSums: ExactSumWire[];
  /** Exact sum of the weights used. */
  weightSum: ExactSumWire;
}

/**
 * Exact sums of w*x per column and of w, for one piece: data row i uses weights[firstWeight + i].
 * Rows past the last weight are still read and counted, so the caller can report both counts.
 */
export function weighTablePiece(
  bytes: Uint8Array,
  options: ReadOptions,
  weights: Float64Array,
  firstWeight: number,
): WeightedPiece {
  const sums: ExactSum[] = [];
  const weightSum = new ExactSum();
  let row = firstWeight;
  const sink: TableSink = {
    byCell: false,
    cell() {},
    row(values, count) {
      const i = row++;
      if (i >= weights.length) return;
      const w = weights[i]!;
      weightSum.add(w);
      while (sums.length < count) sums.push(new ExactSum());
      // Dekker's product where it is exact (nearly always), a scaled exact product elsewhere.
      for (let c = 0; c < count; c++) sums[c]!.addProduct(w, values[c]!);
    },
  };
  const shape = scanTable(bytes, options, sink);
  const columns = outputColumns(shape, options);
  while (sums.length < columns) sums.push(new ExactSum());
  return {
    ...shape,
    weightedSums: sums.slice(0, columns).map(toWire),
    weightSum: toWire(weightSum),
  };
}
