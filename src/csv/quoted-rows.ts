import { CR, LF, QUOTE } from "./byte-codes.js";

/**
 * Quoting (RFC 4180): a cell may be wrapped in double quotes, a doubled quote inside stands for
 * one, and a delimiter or a newline inside quotes is part of the cell. A row therefore ends at the
 * first newline outside quotes; everything that cuts a table at newlines (the server's piece
 * cutter, the client's split) asks `lastRowBreak` where it may cut. Quote parity is enough there:
 * a doubled quote toggles twice, and a quote anywhere else than around a cell is refused by the
 * scanner, so in a table that is accepted the newlines at even parity are exactly the row ends.
 */

/**
 * The quote that closes a quoted cell whose content starts at `from` (just after its opening
 * quote), looking no further than `end`; -1 when there is none. A doubled quote is content.
 */
export function closingQuote(bytes: Uint8Array, from: number, end: number): number {
  let p = from;
  for (;;) {
    const q = bytes.indexOf(QUOTE, p);
    if (q < 0 || q >= end) return -1;
    if (q + 1 < end && bytes[q + 1] === QUOTE) p = q + 2;
    else return q;
  }
}

/** Newlines in bytes[from, to). */
export function newlinesIn(bytes: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let p = bytes.indexOf(LF, from); p >= 0 && p < to; p = bytes.indexOf(LF, p + 1)) n++;
  return n;
}

/**
 * The last newline of bytes[from, to) that is outside quotes (-1: none), given whether `from` is
 * inside quotes, and whether `to` is. Bytes without a quote, the common case, cost one search
 * for a quote and one for the last newline; others are walked byte by byte.
 */
export function lastRowBreak(
  bytes: Uint8Array,
  from: number,
  to: number,
  inQuotes: boolean,
): { cut: number; inQuotes: boolean } {
  const quote = bytes.indexOf(QUOTE, from);
  if (quote < 0 || quote >= to) {
    if (inQuotes) return { cut: -1, inQuotes };
    const cut = to > from ? bytes.lastIndexOf(LF, to - 1) : -1;
    return { cut: cut >= from ? cut : -1, inQuotes };
  }
  let cut = inQuotes ? -1 : bytes.lastIndexOf(LF, quote);
  if (cut < from) cut = -1;
  let quoted = inQuotes;
  for (let p = quote; p < to; p++) {
    const c = bytes[p];
    if (c === QUOTE) quoted = !quoted;
    else if (c === LF && !quoted) cut = p;
  }
  return { cut, inQuotes: quoted };
}

/** A cell of a row as `splitRow` finds it: its content's bounds, without quotes or blanks around. */
export interface RowCell {
  start: number;
  end: number;
  /** The content was quoted: a doubled quote in it stands for one. */
  quoted: boolean;
}

/**
 * The cells of the row at `pos` (quote-aware), for the rare rows read as a whole: a header, the
 * first row that gives a table's width, a row refused for its width. `next` is where the next row
 * starts; `complete` is false when the row runs into `limit` before its newline (or its quote is
 * not closed there: then `unclosed` is where that cell starts).
 */
export function splitRow(
  bytes: Uint8Array,
  pos: number,
  limit: number,
  delimiter: number,
  isBlank: (c: number) => boolean,
): { cells: RowCell[]; next: number; newlines: number; complete: boolean; unclosed?: number } {
  const cells: RowCell[] = [];
  let newlines = 0;
  let p = pos;
  for (;;) {
    let start = p;
    while (start < limit && isBlank(bytes[start]!)) start++;
    if (start < limit && bytes[start] === QUOTE) {
      const close = closingQuote(bytes, start + 1, limit);
      if (close < 0) return { cells, next: limit, newlines, complete: false, unclosed: start };
      newlines += newlinesIn(bytes, start + 1, close);
      cells.push({ start: start + 1, end: close, quoted: true });
      p = close + 1;
      while (p < limit && bytes[p] !== delimiter && bytes[p] !== LF) p++;
    } else {
      let end = start;
      while (end < limit && bytes[end] !== delimiter && bytes[end] !== LF) end++;
      p = end;
      while (end > start && (isBlank(bytes[end - 1]!) || bytes[end - 1] === CR)) end--;
      cells.push({ start, end, quoted: false });
    }
    if (p >= limit) return { cells, next: limit, newlines, complete: false };
    if (bytes[p] === LF) return { cells, next: p + 1, newlines, complete: true };
    p++;
  }
}

/** A cell's text (UTF-8), a doubled quote read as one, blanks around it dropped. */
export function cellText(bytes: Uint8Array, cell: RowCell): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + cell.start, cell.end - cell.start).toString(
    "utf8",
  );
  return (cell.quoted ? text.replaceAll('""', '"') : text).trim();
}
