import { CR, LF, SPACE, TAB } from "./byte-codes.js";
import { cellText, splitRow } from "./quoted-rows.js";
import type { ReadOptions } from "./read-options.js";

/**
 * `--columns`: which columns a table call reads. A selector of digits only is a 1-based column
 * number; anything else is a header name (exact, after trimming), which needs a header. The values
 * come out in the order given; a column given twice is refused. Cells of other columns are skipped
 * unparsed, so a text column elsewhere in the row is no error.
 */
export interface ColumnChoice {
  /** 0-based columns, in the order given. */
  select: number[];
  /** What the result calls them: header names when there is a header, else their numbers. */
  names: string[];
}

/** "a, b,3" as selectors; RangeError for an empty one. */
export function parseColumnList(text: string): string[] {
  const selectors = text.split(",").map((s) => s.trim());
  if (selectors.some((s) => s === "")) throw new RangeError(`--columns: an empty column in "${text}"`);
  return selectors;
}

const isNumber = (selector: string) => /^\d+$/.test(selector);

/** The selectors resolved against the header's names (undefined: no header). RangeError in words. */
export function resolveColumns(
  selectors: readonly string[],
  header: readonly string[] | undefined,
): ColumnChoice {
  const select: number[] = [];
  const names: string[] = [];
  for (const selector of selectors) {
    let column: number;
    if (isNumber(selector)) {
      column = Number(selector) - 1;
      if (column < 0 || !Number.isSafeInteger(column))
        throw new RangeError(`columns are numbered from 1, not ${selector}`);
    } else {
      if (!header)
        throw new RangeError(`column "${selector}" is a name: names need --header (or give numbers)`);
      column = header.indexOf(selector);
      if (column < 0) {
        const known = header
          .slice(0, 20)
          .map((n) => JSON.stringify(n))
          .join(", ");
        throw new RangeError(
          `no column "${selector}" in the header (it has ${known}${header.length > 20 ? ", ..." : ""})`,
        );
      }
    }
    if (select.includes(column)) throw new RangeError(`column ${selector} is selected twice`);
    select.push(column);
    names.push(header?.[column] ?? String(column + 1));
  }
  return { select, names };
}

/** True when every selector is a number: they can be resolved without the header. */
export function numbersOnly(selectors: readonly string[]): boolean {
  return selectors.every(isNumber);
}

/**
 * The header's names: the first non-blank row of bytes that start a file (after a byte-order
 * mark); undefined when the bytes end before that row does.
 */
export function headerNames(
  bytes: Uint8Array,
  options: Pick<ReadOptions, "delimiter">,
): string[] | undefined {
  const tabIsBlank = options.delimiter !== TAB;
  const isBlank = (c: number) => c === SPACE || (tabIsBlank && c === TAB);
  let p = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (p < bytes.length) {
    let q = p;
    while (q < bytes.length && (isBlank(bytes[q]!) || bytes[q] === CR)) q++;
    if (q === bytes.length) return undefined;
    if (bytes[q] === LF) {
      p = q + 1;
      continue;
    }
    const row = splitRow(bytes, p, bytes.length, options.delimiter, isBlank);
    if (!row.complete && row.unclosed !== undefined) return undefined;
    return row.cells.map((cell) => cellText(bytes, cell));
  }
  return undefined;
}

/**
 * The selectors resolved for a table, given the options it is read with and its first bytes (a
 * piece that starts the file holds the header, when it has one). A piece that continues a file
 * takes numbers only: the client that cut it resolved the names.
 */
export function chooseColumns(
  selectors: readonly string[],
  read: Pick<ReadOptions, "delimiter" | "header" | "startsFile">,
  first: Uint8Array,
): ColumnChoice {
  if (!read.header) return resolveColumns(selectors, undefined);
  if (!read.startsFile) {
    if (!numbersOnly(selectors))
      throw new RangeError("a part that continues a file takes column numbers, not names");
    return resolveColumns(selectors, undefined);
  }
  const header = headerNames(first, read);
  if (!header && !numbersOnly(selectors)) throw new RangeError("no header row found to look the names up in");
  return resolveColumns(selectors, header);
}
