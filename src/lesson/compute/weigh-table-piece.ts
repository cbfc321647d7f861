import type { ReadOptions } from "../../csv/read-options.js";
import { type PieceShape, scanTable, type TableSink } from "../../csv/table-scanner.js";
import { ExactSum } from "../../exact/exact-sum.js";
import { twoProduct } from "../../exact/two-product.js";

/** Weighted sums of a piece, exact and mergeable as a SumPiece is. */
export interface WeightedPiece extends PieceShape {
  /** Per column, exact sum of w*x (products taken exactly) as partials. */
  weightedPartials: number[][];
  /** Exact sum of the weights used, as partials. */
  weightPartials: number[];
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
  const product = new Float64Array(2);
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
      for (let c = 0; c < count; c++) {
        twoProduct(w, values[c]!, product);
        const sum = sums[c]!;
        sum.add(product[0]!);
        if (product[1] !== 0) sum.add(product[1]!);
      }
    },
  };
  const shape = scanTable(bytes, options, sink);
  const columns = shape.columns;
  while (sums.length < columns) sums.push(new ExactSum());
  return {
    ...shape,
    weightedPartials: sums.slice(0, columns).map((s) => s.partials()),
    weightPartials: weightSum.partials(),
  };
}
