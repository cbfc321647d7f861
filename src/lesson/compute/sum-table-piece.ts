import type { ReadOptions } from "../../csv/read-options.js";
import { type PieceShape, scanTable, type TableSink } from "../../csv/table-scanner.js";
import { DecimalSumKernel } from "../../csv/wasm/decimal-sum-kernel.js";
import { IntSumKernel } from "../../csv/wasm/int-sum-kernel.js";
import { BinnedSum } from "../../exact/binned-sum.js";
import { ExactSum } from "../../exact/exact-sum.js";
import { type ExactSumWire, toWire } from "../../exact/exact-wire.js";

/**
 * Column sums of a piece: per column, the exact sum (see src/exact). Exact and mergeable, so
 * pieces of one file may run on different workers (or, split by the client, on different
 * servers) and still merge to bit-identical sums.
 */
export interface SumPiece extends PieceShape {
  sums: ExactSumWire[];
}

/**
 * Below this, integers add exactly in float64: the true sum of two integers is an integer,
 * representable below 2^53, and rounding is monotonic, so a rounded sum below it is the true one.
 */
const EXACT_INTEGER_LIMIT = 2 ** 53;

/**
 * Exact sums by column. Integer cells, the common case, go to a plain array while its sum stays
 * below 2^53, where float64 adds integers exactly; anything else goes to the exact binned sum.
 * A class, so that the scanner's call of `cell` always meets the same function and inlines it.
 */
class ColumnSums implements TableSink {
  readonly byCell = true;
  integers = new Float64Array(64);
  readonly exact: BinnedSum[] = [];

  cell(column: number, value: number): void {
    if (column >= this.integers.length) this.#grow(column);
    if (Number.isInteger(value)) {
      const sum = this.integers[column]! + value;
      if (sum < EXACT_INTEGER_LIMIT && sum > -EXACT_INTEGER_LIMIT) {
        this.integers[column] = sum;
        return;
      }
    }
    this.#exact(column).add(value);
  }

  row(): void {}

  /** Each column's exact sum, the integers included. */
  sums(columns: number): ExactSumWire[] {
    return Array.from({ length: columns }, (_, c) => {
      const binned = this.#exact(c);
      binned.flush();
      binned.exact.add(this.integers[c] ?? 0);
      return toWire(binned.exact);
    });
  }

  #exact(column: number): BinnedSum {
    while (this.exact.length <= column) this.exact.push(new BinnedSum());
    return this.exact[column]!;
  }

  #grow(column: number): void {
    const bigger = new Float64Array(Math.max(column + 1, this.integers.length * 2));
    bigger.set(this.integers);
    this.integers = bigger;
  }
}

/** Columns a piece's result has: its width, or the selected ones (none without data rows). */
export function outputColumns(shape: PieceShape, options: ReadOptions): number {
  return options.select && shape.columns > 0 ? options.select.length : shape.columns;
}

/**
 * The Wasm kernels of this thread (src/csv/wasm), loaded on the first piece; null when their
 * .wasm is not there. Per module, so per worker thread: an instance's memory is the thread's.
 */
let kernel: IntSumKernel | null | undefined;
let decimals: DecimalSumKernel | null | undefined;

/**
 * A piece of plain number rows summed by the Wasm kernels (issue 21), with the very shape and
 * sums the JS scan gives: the integer kernel takes pieces where the JS path never needs its exact
 * partials; the decimal kernel, any piece of plain decimal rows, feeding the exact partials in the
 * JS path's order. Undefined for any piece they do not handle, which the JS scan then reads whole.
 */
function sumByKernel(bytes: Uint8Array, options: ReadOptions): SumPiece | undefined {
  // A selection, and a header at the file's start, are the JS scan's.
  if (options.select !== undefined || (options.startsFile && options.header)) return undefined;
  if (kernel === undefined) kernel = IntSumKernel.load() ?? null;
  if (kernel === null) return undefined;
  const maxColumns = options.maxColumns ?? Number.POSITIVE_INFINITY;
  kernel.copyIn(bytes);
  const found = kernel.sumCopied(bytes.length, options.delimiter);
  let piece: { rows: number; columns: number; sums: ExactSumWire[] } | undefined;
  if (found !== undefined) {
    piece = { ...found, sums: Array.from(found.sums, (value) => toWire(ExactSum.of([value]))) };
  } else {
    if (decimals === undefined) decimals = DecimalSumKernel.load(kernel) ?? null;
    const exact = decimals?.sumCopied(bytes.length, options.delimiter, options.decimal);
    if (exact !== undefined) piece = { ...exact, sums: exact.sums.map(toWire) };
  }
  if (piece === undefined || piece.columns > maxColumns) return undefined;
  const { rows, columns, sums } = piece;
  // Every line is a data row there: no blank lines, no header, no newline inside a cell.
  return { rows, lines: rows, columns, firstRowLine: rows > 0 ? 1 : 0, sums };
}

/**
 * Exact column sums of one piece of a table (of its selected columns, with ReadOptions.select).
 * `engine` "js" skips the Wasm kernel (for tests and the bench that compare the two).
 */
export function sumTablePiece(
  bytes: Uint8Array,
  options: ReadOptions,
  engine: "auto" | "js" = "auto",
): SumPiece {
  const byKernel = engine === "auto" ? sumByKernel(bytes, options) : undefined;
  if (byKernel) return byKernel;
  const sums = new ColumnSums();
  const shape = scanTable(bytes, options, sums);
  return { ...shape, sums: sums.sums(outputColumns(shape, options)) };
}
