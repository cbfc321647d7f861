import type { PieceError, PieceShape } from "../../csv/table-scanner.js";
import { exactQuotient } from "../../exact/exact-quotient.js";
import { ExactSum } from "../../exact/exact-sum.js";
import { addWire, type ExactSumWire, fromWire, toWire } from "../../exact/exact-wire.js";
import { inColumn, ZeroDivisor } from "../../exact/refusals.js";
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
  /** Cells per row of the table (every column, selected or not); 0 until a row is read. */
  width = 0;
  /** With --columns: what the result calls the selected columns (header names, or numbers). */
  selectedNames?: string[];
  #error?: PieceError;
  #sums: ExactSum[] = [];
  #weights = new ExactSum();

  /** expectedColumns: the width of the whole table when this is one part of it (0: unknown). */
  constructor(
    readonly firstLine = 1,
    expectedColumns = 0,
  ) {
    this.width = expectedColumns;
  }

  /** Columns of the result: the table's width, or the selected ones (none before a row is read). */
  get columns(): number {
    return this.selectedNames && this.width > 0 ? this.selectedNames.length : this.width;
  }

  addSum(piece: SumPiece): void {
    if (this.#addShape(piece)) this.#addColumns(piece.sums);
  }

  addWeighted(piece: WeightedPiece): void {
    if (this.#addShape(piece)) {
      this.#addColumns(piece.weightedSums);
      addWire(this.#weights, piece.weightSum);
    }
  }

  error(): PieceError | undefined {
    return this.#error;
  }

  /** Correctly rounded column sums; Float64Overflow naming the first column beyond float64. */
  sums(): number[] {
    return this.#sums.map((s, c) => inColumn(c + 1, () => s.value()));
  }

  exactSums(): ExactSumWire[] {
    return this.#sums.map(toWire);
  }

  /** Exact sums of w*x per column (the weighted pieces' column sums). */
  weightedSums(): ExactSumWire[] {
    return this.exactSums();
  }

  weightSum(): ExactSumWire {
    return toWire(this.#weights);
  }

  /** Takes the piece's shape; false when the table is refused (now or before). */
  #addShape(piece: PieceShape): boolean {
    if (this.#error) return false;
    const offset = this.firstLine + this.lines - 1;
    if (piece.columns > 0 && this.width > 0 && piece.columns !== this.width) {
      // The piece's first row is the first row of the wrong width: it wins over later refusals.
      this.#error = {
        line: offset + piece.firstRowLine,
        column: Math.min(piece.columns, this.width) + 1,
        message: `row has ${piece.columns} cells, expected ${this.width}`,
      };
      return false;
    }
    if (piece.error) {
      this.#error = { ...piece.error, line: offset + piece.error.line };
      return false;
    }
    if (this.width === 0) this.width = piece.columns;
    this.rows += piece.rows;
    this.lines += piece.lines;
    return true;
  }

  #addColumns(sums: ExactSumWire[]): void {
    while (this.#sums.length < sums.length) this.#sums.push(new ExactSum());
    for (const [c, sum] of sums.entries()) addWire(this.#sums[c]!, sum);
  }
}

/** Exact merge of the per-column sums of several parts of one table, in any order. */
export function mergeExact(parts: ExactSumWire[][]): ExactSumWire[] {
  // A loop, not Math.max(...): spreading 125k parts overflows the stack.
  let columns = 0;
  for (const part of parts) columns = Math.max(columns, part.length);
  return Array.from({ length: columns }, (_, c) => {
    const sum = new ExactSum();
    for (const part of parts) if (part[c]) addWire(sum, part[c]);
    return toWire(sum);
  });
}

/** Exact sums correctly rounded; Float64Overflow naming the first column beyond float64. */
export function roundSums(sums: ExactSumWire[]): number[] {
  return sums.map((sum, c) => inColumn(c + 1, () => fromWire(sum).value()));
}

/**
 * The refusal's text when a table's data rows and its weights differ in number: the same words
 * from the server (one table) and the client (a split table's parts added up).
 */
export function weightCountMismatch(file: string, rows: number, weights: number): string {
  const counted = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;
  return `${file}: ${counted(rows, "row")} but ${counted(weights, "weight")} (one weight per row is needed)`;
}

/**
 * Weighted means from exact sums: each the correctly rounded exact quotient of a column's sum of
 * w*x by the exact sum of the weights, or by a row count (a number). Weights that sum to zero are
 * a ZeroDivisor, a mean beyond float64 a Float64Overflow naming its column.
 */
export function finishMeans(weightedSums: ExactSumWire[], divisor: ExactSumWire | number): number[] {
  if (weightedSums.length === 0) return [];
  const d = typeof divisor === "number" ? divisor : fromWire(divisor);
  if (typeof d === "number" ? d === 0 : d.scaled().n === 0n)
    throw new ZeroDivisor(typeof d === "number" ? "the table has no rows" : "weights sum to zero");
  return weightedSums.map((sum, c) =>
    inColumn(c + 1, () => exactQuotient(fromWire(sum), d, "the weighted mean")),
  );
}
