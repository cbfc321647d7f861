import type { PieceError, PieceShape } from "../../csv/table-scanner.js";
import { ExactSum } from "../../exact/exact-sum.js";
import type { SumPiece } from "./sum-table-piece.js";
import type { WeightedPiece } from "./weigh-table-piece.js";

/**
 * Merges the pieces of one table, in file order: exact sums per column, rows, and the first
 * refusal in file order with its line made absolute (line L of a piece is line
 * firstLine + lines before the piece + L - 1 of the file).
 */
export class TableMerger {
  rows = 0;
  lines = 0;
  columns = 0;
  #error?: PieceError;
  #sums: ExactSum[] = [];
  #weights = new ExactSum();

  /** expectedColumns: the width of the whole table when this is one part of it (0: unknown). */
  constructor(
    readonly firstLine = 1,
    expectedColumns = 0,
  ) {
    this.columns = expectedColumns;
  }

  addSum(piece: SumPiece): void {
    if (this.#addShape(piece)) this.#addColumns(piece.partials);
  }

  addWeighted(piece: WeightedPiece): void {
    if (this.#addShape(piece)) {
      this.#addColumns(piece.weightedPartials);
      this.#weights.addPartials(piece.weightPartials);
    }
  }

  error(): PieceError | undefined {
    return this.#error;
  }

  sums(): number[] {
    return this.#sums.map((s) => s.value());
  }

  exactPartials(): number[][] {
    return this.#sums.map((s) => s.partials());
  }

  weightedPartials(): number[][] {
    return this.exactPartials();
  }

  weightPartials(): number[] {
    return this.#weights.partials();
  }

  /** Takes the piece's shape; false when the table is refused (now or before). */
  #addShape(piece: PieceShape): boolean {
    if (this.#error) return false;
    const offset = this.firstLine + this.lines - 1;
    if (piece.columns > 0 && this.columns > 0 && piece.columns !== this.columns) {
      // The piece's first row is the first row of the wrong width: it wins over later refusals.
      this.#error = {
        line: offset + piece.firstRowLine,
        column: Math.min(piece.columns, this.columns) + 1,
        message: `row has ${piece.columns} cells, expected ${this.columns}`,
      };
      return false;
    }
    if (piece.error) {
      this.#error = { ...piece.error, line: offset + piece.error.line };
      return false;
    }
    if (this.columns === 0) this.columns = piece.columns;
    this.rows += piece.rows;
    this.lines += piece.lines;
    return true;
  }

  #addColumns(partials: number[][]): void {
    while (this.#sums.length < partials.length) this.#sums.push(new ExactSum());
    for (const [c, p] of partials.entries()) this.#sums[c]!.addPartials(p);
  }
}

/** Exact merge of the per-column partials of several parts of one table. */
export function mergeExact(parts: number[][][]): number[][] {
  const columns = Math.max(0, ...parts.map((p) => p.length));
  return Array.from({ length: columns }, (_, c) => {
    const sum = new ExactSum();
    for (const part of parts) sum.addPartials(part[c] ?? []);
    return sum.partials();
  });
}

/**
 * Means from exact sums: each sum rounded correctly, then one division, by the sum of the
 * weights (given as partials) or by a row count (a number).
 */
export function finishMeans(weightedPartials: number[][], divisor: number[] | number): number[] {
  const d = typeof divisor === "number" ? divisor : ExactSum.fromPartials(divisor).value();
  return weightedPartials.map((p) => ExactSum.fromPartials(p).value() / d);
}
