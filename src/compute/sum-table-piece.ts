import type { RowSink } from "../csv/table-scanner.js";
import { scanTable } from "../csv/table-scanner.js";
import { ExactSum } from "../exact/exact-sum.js";
import type { ReadOptions, SumPiece } from "./table-part-types.js";

/** Exact column sums of one piece of a table. */
export function sumTablePiece(bytes: Uint8Array, options: ReadOptions): SumPiece {
  const sums: ExactSum[] = [];
  const sink: RowSink = {
    row(values, count) {
      while (sums.length < count) sums.push(new ExactSum());
      for (let c = 0; c < count; c++) sums[c]!.add(values[c]!);
    },
  };
  const shape = scanTable(bytes, options, sink);
  return { ...shape, partials: sums.slice(0, shape.columns).map((s) => s.partials()) };
}
