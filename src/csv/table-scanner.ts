import type { PieceError, PieceShape, ReadOptions } from "../compute/table-part-types.js";
import { CR, LF, SPACE, TAB } from "./byte-codes.js";
import { cellFault } from "./cell-fault.js";
import { parseNumber } from "./number-syntax.js";

/** Receives each data row; `values` is reused between rows, only its first `count` entries count. */
export interface RowSink {
  row(values: Float64Array, count: number): void;
}

/**
 * Walks one piece of a table (bytes that end at a line boundary, or the file's end) and hands
 * every data row to the sink. Stops at the first refusal, which it returns in the shape.
 * Byte-level: no strings are made except for error messages and the rare slow number.
 */
export function scanTable(bytes: Uint8Array, options: ReadOptions, sink: RowSink): PieceShape {
  const { delimiter, decimal } = options;
  const length = bytes.length;
  // A tab is blank space around cells unless it separates them.
  const tabIsSpace = delimiter !== TAB;
  let values = new Float64Array(64);
  let pos = 0;
  if (options.startsFile && length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf)
    pos = 3;
  let headerPending = options.header && options.startsFile;
  let line = 0;
  let rows = 0;
  let columns = 0;
  let firstRowLine = 0;
  let error: PieceError | undefined;

  while (pos < length) {
    line++;
    const newline = bytes.indexOf(LF, pos);
    const lineEnd = newline < 0 ? length : newline;
    let end = lineEnd;
    if (end > pos && bytes[end - 1] === CR) end--;
    const next = lineEnd + 1;

    let start = pos;
    while (
      start < end &&
      (bytes[start] === SPACE || (tabIsSpace && bytes[start] === TAB) || bytes[start] === CR)
    )
      start++;
    if (start === end) {
      pos = next;
      continue;
    }
    if (headerPending) {
      headerPending = false;
      pos = next;
      continue;
    }

    let count = 0;
    let p = pos;
    for (;;) {
      // One cell: trim blanks, find its end at the delimiter or the line's end.
      let cellStart = p;
      while (cellStart < end && (bytes[cellStart] === SPACE || (tabIsSpace && bytes[cellStart] === TAB)))
        cellStart++;
      let cellEnd = cellStart;
      while (cellEnd < end && bytes[cellEnd] !== delimiter) cellEnd++;
      const afterCell = cellEnd;
      while (
        cellEnd > cellStart &&
        (bytes[cellEnd - 1] === SPACE || (tabIsSpace && bytes[cellEnd - 1] === TAB))
      )
        cellEnd--;
      if (columns > 0 && count === columns) {
        error = { line, column: count + 1, message: rowWidthMessage(bytes, pos, end, delimiter, columns) };
        break;
      }
      const value = cellEnd > cellStart ? parseNumber(bytes, cellStart, cellEnd, decimal) : Number.NaN;
      if (!Number.isFinite(value)) {
        error = { line, column: count + 1, message: cellFault(bytes, cellStart, cellEnd, value) };
        break;
      }
      if (count === values.length) {
        const bigger = new Float64Array(values.length * 2);
        bigger.set(values);
        values = bigger;
      }
      values[count++] = value;
      if (afterCell === end) break;
      p = afterCell + 1;
    }
    if (error) break;
    if (columns === 0) {
      columns = count;
      firstRowLine = line;
    } else if (count !== columns) {
      error = { line, column: count + 1, message: `row has ${count} cells, expected ${columns}` };
      break;
    }
    sink.row(values, count);
    rows++;
    pos = next;
  }
  // Each pass of the loop was one line: every newline, plus an unterminated last line.
  return error
    ? { rows, lines: line, columns, firstRowLine, error }
    : { rows, lines: line, columns, firstRowLine };
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
