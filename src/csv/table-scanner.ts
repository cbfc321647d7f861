import { CR, LF, MINUS, NINE, PLUS, QUOTE, SPACE, TAB, ZERO } from "./byte-codes.js";
import { cellFault } from "./cell-fault.js";
import { POW10, parseNumber } from "./number-syntax.js";
import { closingQuote, newlinesIn, splitRow } from "./quoted-rows.js";
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
  /**
   * Lines in the piece: newlines (those inside quoted cells too), plus one if the piece ends with a
   * non-empty unterminated line.
   */
  lines: number;
  /** Cells in the first data row of the piece (all of them, selected or not); 0 when it has no data row. */
  columns: number;
  /** 1-based line (within the piece) where its first data row starts; 0 when it has none. */
  firstRowLine: number;
  /** The first refusal in the piece, if any. Parsing stops there. */
  error?: PieceError;
}

/**
 * Receives the numbers of a table (of its selected columns only, numbered in the selection's
 * order, when ReadOptions.select is given). With `byCell`, every cell goes to `cell(column, value)` as it
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
 *
 * A quoted cell (RFC 4180) takes the general path: its content is read as an unquoted cell's is,
 * and a newline inside it moves the row's end further (lines still count every newline, so later
 * refusals name their physical line; a refusal names the line where its cell starts). With a
 * selection, the cells of other columns are only walked past, to their delimiter.
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
  // With a selection, slots[column] is where a column's value goes (-1: skipped); past the end of
  // slots every column is skipped.
  const selecting = options.select !== undefined;
  const slots = slotsOf(options.select);
  let values = new Float64Array(byCell ? 0 : Math.max(64, slots.length));
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
    const rowLine = line;
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
      if (start === end) {
        pos = next;
        continue;
      }
      if (headerPending) {
        // The header: the first non-blank row, which quotes may carry over several lines.
        headerPending = false;
        const header = splitRow(bytes, pos, length, delimiter, isBlank);
        line += header.newlines;
        pos = header.unclosed === undefined ? header.next : length;
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
              : rowWidthMessage(bytes, pos, delimiter, isBlank, columns),
        };
        break;
      }
      let slot = count;
      if (selecting) {
        slot = count < slots.length ? slots[count]! : -1;
        if (slot < 0) {
          // Not selected: walked past unparsed, to its delimiter or the row's end.
          if (end < 0) [end, next] = lineBounds(bytes, p);
          let cellStart = p;
          while (cellStart < end && isBlank(bytes[cellStart]!)) cellStart++;
          let cellEnd: number;
          if (bytes[cellStart] === QUOTE && cellStart < end) {
            const quoted = quotedCell(bytes, cellStart, end, length, delimiter, isBlank);
            if (typeof quoted === "string") {
              error = { line, column: count + 1, message: quoted };
              break;
            }
            line += quoted.newlines;
            if (quoted.newlines > 0) [end, next] = lineBounds(bytes, quoted.after);
            cellEnd = quoted.after;
          } else {
            // Walked to its delimiter, looking for a quote on the way (bounded: indexOf would
            // search the rest of the piece for every skipped cell of a table without quotes).
            cellEnd = cellStart;
            let quoted = false;
            for (let c = bytes[cellEnd]; cellEnd < end && c !== delimiter; c = bytes[++cellEnd])
              quoted ||= c === QUOTE;
            if (quoted) {
              error = { line, column: count + 1, message: strayQuote(bytes, cellStart, cellEnd) };
              break;
            }
          }
          count++;
          if (cellEnd === end) break;
          p = cellEnd + 1;
          continue;
        }
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
        if (cellEnds < 0 && c === decimal && q > firstDigit) {
          // A plain decimal (`-1234.5678`, `0.00072931`): its digits read on as one integer; with
          // at most 15 digits in all, integer / 10^k is Clinger's fast path, correctly rounded.
          // Tried after the integer cell's ends, not before: an integer cell pays nothing for it.
          const point = q;
          digit = bytes[++q]! - ZERO;
          while (digit >>> 0 < 10) {
            integer = integer * 10 + digit;
            digit = bytes[++q]! - ZERO;
          }
          c = digit + ZERO;
          if (q - firstDigit - 2 < 15) {
            // The same ends of a cell as an integer's, above.
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
            if (cellEnds >= 0) value = (negative ? -integer : integer) / POW10[q - point - 1]!;
          }
        }
      }
      if (cellEnds < 0) {
        // General path: the cell trimmed of blanks, up to the delimiter or the line's end.
        if (end < 0) [end, next] = lineBounds(bytes, p);
        let cellStart = p;
        while (cellStart < end && isBlank(bytes[cellStart]!)) cellStart++;
        let cellEnd: number;
        const cellLine = line;
        if (bytes[cellStart] === QUOTE && cellStart < end) {
          // Quoted: the content between the quotes is read as an unquoted cell is.
          const quoted = quotedCell(bytes, cellStart, end, length, delimiter, isBlank);
          if (typeof quoted === "string") {
            error = { line, column: count + 1, message: quoted };
            break;
          }
          line += quoted.newlines;
          if (quoted.newlines > 0) [end, next] = lineBounds(bytes, quoted.after);
          cellEnds = quoted.after;
          cellStart = quoted.start;
          cellEnd = quoted.end;
          while (cellStart < cellEnd && isBlank(bytes[cellStart]!)) cellStart++;
        } else {
          cellEnd = cellStart;
          while (cellEnd < end && bytes[cellEnd] !== delimiter) cellEnd++;
          cellEnds = cellEnd;
        }
        lastCell = cellEnds === end;
        while (cellEnd > cellStart && isBlank(bytes[cellEnd - 1]!)) cellEnd--;
        value = cellEnd > cellStart ? parseNumber(bytes, cellStart, cellEnd, decimal) : Number.NaN;
        if (!Number.isFinite(value)) {
          const quote = bytes.indexOf(QUOTE, cellStart);
          const message =
            quote >= 0 && quote < cellEnd
              ? strayQuote(bytes, cellStart, cellEnd)
              : cellFault(bytes, cellStart, cellEnd, value);
          error = { line: cellLine, column: count + 1, message };
          break;
        }
      }
      if (byCell) sink.cell(slot, value);
      else {
        if (slot >= values.length) {
          const bigger = new Float64Array(values.length * 2);
          bigger.set(values);
          values = bigger;
        }
        values[slot] = value;
      }
      count++;
      if (lastCell) break;
      p = cellEnds + 1;
    }
    if (error) break;
    if (columns === 0) {
      columns = maxCells = count;
      firstRowLine = rowLine;
      if (selecting) {
        const beyond = options.select!.find((c) => c >= count);
        if (beyond !== undefined) {
          error = {
            line: rowLine,
            column: count + 1,
            message: `column ${beyond + 1} is selected (--columns), but the row has ${count} cells`,
          };
          break;
        }
      }
    } else if (count !== columns) {
      error = { line, column: count + 1, message: `row has ${count} cells, expected ${columns}` };
      break;
    }
    if (!byCell) sink.row(values, selecting ? slots.selected : count);
    rows++;
    pos = next;
  }
  // Each pass of the loop was one line, plus the newlines inside quoted cells: every newline,
  // plus an unterminated last line.
  return error
    ? { rows, lines: line, columns, firstRowLine, error }
    : { rows, lines: line, columns, firstRowLine };
}

/** Where each column's value goes under a selection (-1: skipped), and how many are selected. */
function slotsOf(select: readonly number[] | undefined): Int32Array & { selected: number } {
  const width = select && select.length > 0 ? Math.max(...select) + 1 : 0;
  const slots = Object.assign(new Int32Array(width).fill(-1), { selected: select?.length ?? 0 });
  select?.forEach((column, i) => {
    slots[column] = i;
  });
  return slots;
}

/**
 * The quoted cell whose opening quote is at `open`: its content's bounds, where it ends (its
 * delimiter, or the row's end) and the newlines inside it; or the refusal in words. `end` is the
 * end of the line it starts on, which its quotes may carry past.
 */
function quotedCell(
  bytes: Uint8Array,
  open: number,
  end: number,
  length: number,
  delimiter: number,
  isBlank: (c: number) => boolean,
): { start: number; end: number; after: number; newlines: number } | string {
  const close = closingQuote(bytes, open + 1, length);
  if (close < 0) {
    return "the quote that opens this cell is not closed (before the end of the table, or within this server's --max-line-bytes, or before a cut of --split)";
  }
  const newlines = close > end ? newlinesIn(bytes, open + 1, close) : 0;
  const rowEnd = newlines > 0 ? lineBounds(bytes, close + 1)[0] : end;
  let after = close + 1;
  while (after < rowEnd && isBlank(bytes[after]!)) after++;
  if (after < rowEnd && bytes[after] !== delimiter) {
    return `text after the closing quote of a quoted cell: ${JSON.stringify(String.fromCharCode(bytes[after]!))}`;
  }
  return { start: open + 1, end: close, after, newlines };
}

function strayQuote(bytes: Uint8Array, start: number, end: number): string {
  const text =
    String.fromCharCode(...bytes.subarray(start, Math.min(end, start + 40))) +
    (end - start > 40 ? "..." : "");
  return `${JSON.stringify(text)} has a quote inside an unquoted cell: quote the whole cell and double the quote`;
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
  delimiter: number,
  isBlank: (c: number) => boolean,
  expected: number,
): string {
  const cells = splitRow(bytes, start, bytes.length, delimiter, isBlank).cells.length;
  return `row has ${cells} cells, expected ${expected}`;
}
