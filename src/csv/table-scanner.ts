import { CR, LF, MINUS, NINE, PLUS, SPACE, TAB, ZERO } from "./byte-codes.js";
import { cellFault } from "./cell-fault.js";
import { parseNumber } from "./number-syntax.js";
import type { ReadOptions } from "./read-options.js";

/** A refusal at a position relative to the piece (1-based line within the piece, 1-based cell). */
export interface PieceError {
  line: number;
  column: number;
  /** Words, without file or position, e.g. `"abc" is not a number`. */
  message: string;
}

/**
 * What scanning a piece of a table (bytes that end at a line boundary, or the file's end) reports
 * besides the numbers it handed to its sink.
 */
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

/**
 * Receives the numbers of a table. With `byCell`, every cell goes to `cell(column, value)` as it
 * is read, and `row` is never called: the cheapest way for column-wise work such as sums. Cells
 * of a row that is then refused have been passed already; the piece is refused as a whole then.
 * Without it, each data row goes to `row` once it is complete and valid; `values` is reused
 * between rows, only its first `count` entries count.
 */
export interface TableSink {
  readonly byCell: boolean;
  cell(column: number, value: number): void;
  row(values: Float64Array, count: number): void;
}

const isNumberStart = (c: number) => (c >= ZERO && c <= NINE) || c === MINUS || c === PLUS;

/**
 * Walks one piece of a table (bytes that end at a line boundary, or the file's end) and hands
 * its numbers to the sink. Stops at the first refusal, which it returns in the shape.
 *
 * Byte-level and single-pass in the common case: a cell that is a plain integer of at most 15
 * digits is parsed while it is scanned, and such a line is walked once, its end found on the way.
 * Any other cell (blanks, a fraction, an exponent, something wrong) takes the general path: the
 * line's end is looked up, the cell trimmed and parsed with the full grammar. No strings are made
 * except for error messages and the rare number with more than 15 significant digits.
 */
export function scanTable(input: Uint8Array, options: ReadOptions, sink: TableSink): PieceShape {
  // One element type for the loops below whether a Buffer or a plain Uint8Array came in, and
  // TypedArray's built-in indexOf rather than Buffer's, which crosses into C++ on every call.
  const bytes =
    input.constructor === Uint8Array ? input : new Uint8Array(input.buffer, input.byteOffset, input.length);
  const { delimiter, decimal } = options;
  const byCell = sink.byCell;
  const length = bytes.length;
  // A tab is blank space around cells unless it separates them.
  const tabIsSpace = delimiter !== TAB;
  const isBlank = (c: number) => c === SPACE || (tabIsSpace && c === TAB);
  let values = new Float64Array(byCell ? 0 : 64);
  let pos = 0;
  if (options.startsFile && length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf)
    pos = 3;
  let headerPending = options.header && options.startsFile;
  let line = 0;
  let rows = 0;
  let columns = 0;
  let firstRowLine = 0;
  let error: PieceError | undefined;
  // Lines that start before the last LF end with one: only they take the fast path, whose loops
  // read without bound checks and stop at that LF. An unterminated last line is read carefully.
  const fastBefore = bytes.lastIndexOf(LF) + 1;
  // A row may have this many cells: the cap until the first row is read, then its width.
  const cap = options.maxColumns ?? 2 ** 31;
  let maxCells = cap;

  while (pos < length) {
    line++;
    // The line's content is [pos, end) without its CR LF; the next line starts at next. Both are
    // -1 while unknown: a line of plain integers finds its end as it goes.
    let end = -1;
    let next = -1;
    if (headerPending || pos >= fastBefore || !isNumberStart(bytes[pos]!)) {
      const newline = bytes.indexOf(LF, pos);
      const lineEnd = newline < 0 ? length : newline;
      end = lineEnd > pos && bytes[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
      next = lineEnd + 1;
      let start = pos;
      while (start < end && (isBlank(bytes[start]!) || bytes[start] === CR)) start++;
      if (start === end || headerPending) {
        // A blank line, or the header (the first non-blank line) when asked to skip one.
        if (start !== end) headerPending = false;
        pos = next;
        continue;
      }
    }

    const fast = pos < fastBefore;
    let count = 0;
    let p = pos;
    for (;;) {
      if (count === maxCells) {
        if (end < 0) [end, next] = lineBounds(bytes, p);
        error = {
          line,
          column: count + 1,
          message:
            columns === 0
              ? `row has more than ${cap} cells, this server's cap of ${cap} columns (--max-columns)`
              : rowWidthMessage(bytes, pos, end, delimiter, columns),
        };
        break;
      }
      let value = Number.NaN;
      let cellEnds = -1; // where the cell ends, once the fast path has read it all
      let lastCell = false;
      if (fast) {
        // Fast path: sign and digits. Its loop needs no bound check: the line ends with an LF.
        let q = p;
        let c = bytes[q]!;
        const negative = c === MINUS;
        if (negative || c === PLUS) c = bytes[++q]!;
        let integer = 0;
        const firstDigit = q;
        let digit = c - ZERO;
        // Unsigned: one comparison tells a digit.
        while (digit >>> 0 < 10) {
          integer = integer * 10 + digit;
          digit = bytes[++q]! - ZERO;
        }
        c = digit + ZERO;
        // 1 to 15 digits (more might not be exact in a double), then the cell must end.
        if (q - firstDigit - 1 < 15 && q > firstDigit) {
          // The delimiter is never CR or LF, so a delimiter here is inside the line.
          if (c === delimiter) cellEnds = q;
          else if (end >= 0) {
            if (q === end) {
              cellEnds = q;
              lastCell = true;
            }
          } else if (c === LF) {
            cellEnds = end = q;
            next = q + 1;
            lastCell = true;
          } else if (c === CR && bytes[q + 1] === LF) {
            cellEnds = end = q;
            next = q + 2;
            lastCell = true;
          }
          if (cellEnds >= 0) value = negative ? -integer : integer;
        }
      }
      if (cellEnds < 0) {
        // General path: the cell trimmed of blanks, up to the delimiter or the line's end.
        if (end < 0) [end, next] = lineBounds(bytes, p);
        let cellStart = p;
        while (cellStart < end && isBlank(bytes[cellStart]!)) cellStart++;
        let cellEnd = cellStart;
        while (cellEnd < end && bytes[cellEnd] !== delimiter) cellEnd++;
        cellEnds = cellEnd;
        lastCell = cellEnd === end;
        while (cellEnd > cellStart && isBlank(bytes[cellEnd - 1]!)) cellEnd--;
        value = cellEnd > cellStart ? parseNumber(bytes, cellStart, cellEnd, decimal) : Number.NaN;
        if (!Number.isFinite(value)) {
          error = { line, column: count + 1, message: cellFault(bytes, cellStart, cellEnd, value) };
          break;
        }
      }
      if (byCell) sink.cell(count, value);
      else {
        if (count === values.length) {
          const bigger = new Float64Array(values.length * 2);
          bigger.set(values);
          values = bigger;
        }
        values[count] = value;
      }
      count++;
      if (lastCell) break;
      p = cellEnds + 1;
    }
    if (error) break;
    if (columns === 0) {
      columns = maxCells = count;
      firstRowLine = line;
    } else if (count !== columns) {
      error = { line, column: count + 1, message: `row has ${count} cells, expected ${columns}` };
      break;
    }
    if (!byCell) sink.row(values, count);
    rows++;
    pos = next;
  }
  // Each pass of the loop was one line: every newline, plus an unterminated last line.
  return error
    ? { rows, lines: line, columns, firstRowLine, error }
    : { rows, lines: line, columns, firstRowLine };
}

/** The end of the line around `from` without its CR LF, and where the next line starts. */
function lineBounds(bytes: Uint8Array, from: number): [end: number, next: number] {
  const newline = bytes.indexOf(LF, from);
  const lineEnd = newline < 0 ? bytes.length : newline;
  // The line may start before `from`, but its CR, if any, is right before the LF.
  return [lineEnd > from && bytes[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd, lineEnd + 1];
}

function rowWidthMessage(
  bytes: Uint8Array,
  start: number,
  end: number,
  delimiter: number,
  expected: number,
): string {
  let cells = 1;
  for (let p = start; p < end; p++) if (bytes[p] === delimiter) cells++;
  return `row has ${cells} cells, expected ${expected}`;
}
