import type { ExactSumWire } from "../exact/exact-wire.js";

/**
 * The contract between the server's event loop and its worker threads for table work.
 *
 * The event loop only moves bytes: it cuts the incoming stream at the last newline of each
 * batch and hands the piece to a worker. A piece is parsed on its own; its result is exact
 * and mergeable, so pieces of one file may run on different workers (or, split by the client,
 * on different servers) and still merge to bit-identical sums.
 */

/** How to read a table; bytes are the ASCII codes of the characters. */
export interface ReadOptions {
  /** Cell delimiter byte, default 0x3b (";"); 0x09 for tab. */
  delimiter: number;
  /** Decimal separator byte, 0x2e (".") or 0x2c (","). Must differ from the delimiter. */
  decimal: number;
  /** Skip the first non-blank line, when `startsFile`. */
  header: boolean;
  /** This piece starts the file: a UTF-8 BOM and the header are looked for only here. */
  startsFile: boolean;
}

/** A refusal at a position relative to the piece (1-based line within the piece, 1-based cell). */
export interface PieceError {
  line: number;
  column: number;
  /** Words, without file or position, e.g. `"abc" is not a number`. */
  message: string;
}

/** What every piece reports besides its sums. */
export interface PieceShape {
  /** Data rows read (blank lines and header excluded). */
  rows: number;
  /** Lines in the piece: newlines, plus one if the piece ends with a non-empty unterminated line. */
  lines: number;
  /** Cells in the first data row of the piece; 0 when it has no data row. */
  columns: number;
  /** 1-based line (within the piece) of its first data row; 0 when it has none. */
  firstRowLine: number;
  /** The first refusal in the piece, if any. Parsing stops there. */
  error?: PieceError;
}

/** Column sums of a piece: per column, the exact sum (see src/exact). */
export interface SumPiece extends PieceShape {
  sums: ExactSumWire[];
}

/** Weighted sums of a piece. */
export interface WeightedPiece extends PieceShape {
  /** Per column, the exact sum of w*x (each product taken exactly). */
  weightedSums: ExactSumWire[];
  /** Exact sum of the weights used. */
  weightSum: ExactSumWire;
}
