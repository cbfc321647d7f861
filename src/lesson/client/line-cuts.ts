import { type FileHandle, open } from "node:fs/promises";
import { CR, LF, QUOTE, SPACE, TAB } from "../../csv/byte-codes.js";
import { cellText, splitRow } from "../../csv/quoted-rows.js";
import { defaultReadOptions, type ReadOptions } from "../../csv/read-options.js";

/** One row range of a file, cut at line boundaries (see split-plan.ts and cutAtLines). */
export interface TablePart {
  /** Byte range [start, end) of the file. */
  start: number;
  end: number;
  /** 1-based line of the file at `start`; 0 when the plan did not count lines (cutAtLines). */
  firstLine: number;
  /** Data rows in the range, when the plan counted them (weights are sliced by them). */
  rows?: number;
  /** Cells per row of the whole table. */
  columns: number;
  /** For a part after the first (no header): --columns resolved to numbers by the plan. */
  select?: string[];
}

/** Bytes read at a time when looking for a line's end. */
const window = 64 << 10;

/** How the plan reads a table: its delimiter byte (default the dialect's) and whether it has a header. */
export type CutOptions = Partial<Pick<ReadOptions, "delimiter" | "header">>;

/**
 * Cuts a file into parts of about `partBytes` at line boundaries without reading it: at each
 * multiple it reads a window and cuts after the first newline. Only the first data row is read in
 * full, for the table's width. A part's first line and rows are not known (firstLine 0, rows
 * undefined): the server counts lines from the part's start, and a refusal's line is placed in the
 * whole file afterwards (`linesBefore`), which is rare, where counting every row first is not.
 */
export async function cutAtLines(
  path: string,
  size: number,
  partBytes: number,
  options: CutOptions = {},
): Promise<TablePart[]> {
  const handle = await open(path, "r");
  try {
    const columns = (await readHead(handle, options)).width;
    const cuts = [0];
    for (let target = partBytes; target < size; ) {
      const cut = await lineStartFrom(handle, target - 1);
      if (cut === undefined || cut >= size) break;
      cuts.push(cut);
      target = cut + partBytes;
    }
    cuts.push(size);
    return cuts.slice(1).map((end, i) => ({ start: cuts[i]!, end, firstLine: 0, columns }));
  } finally {
    await handle.close();
  }
}

/** The offset just after the first newline at or after `from`, or undefined at the end of the file. */
async function lineStartFrom(handle: FileHandle, from: number): Promise<number | undefined> {
  const buffer = Buffer.allocUnsafe(window);
  for (let offset = from; ; offset += window) {
    const { bytesRead } = await handle.read(buffer, 0, window, offset);
    if (bytesRead === 0) return undefined;
    const newline = buffer.subarray(0, bytesRead).indexOf(LF);
    if (newline >= 0) return offset + newline + 1;
  }
}

/** What the plan reads of a table's start: its header's names, its width, whether it quotes. */
export interface TableHead {
  /** The header's names (with `header`), undefined otherwise or when the file has none. */
  header?: string[];
  /** Cells in the first data row; 0 if none. */
  width: number;
  /** A quote in the header or the first data row: the file may have newlines inside quotes. */
  quoted: boolean;
}

/** A table's head (after a byte-order mark and blank lines), read until its first data row ends. */
export async function tableHead(path: string, options: CutOptions): Promise<TableHead> {
  const handle = await open(path, "r");
  try {
    return await readHead(handle, options);
  } finally {
    await handle.close();
  }
}

async function readHead(handle: FileHandle, options: CutOptions): Promise<TableHead> {
  let held = Buffer.alloc(0);
  // Reads more until the rows wanted are whole (their quotes closed), or the file ends.
  for (;;) {
    const chunk = Buffer.allocUnsafe(window);
    const { bytesRead } = await handle.read(chunk, 0, window, held.length);
    held = Buffer.concat([held, chunk.subarray(0, bytesRead)]);
    const head = headIn(held, bytesRead === 0, options);
    if (head) return head;
  }
}

/**
 * The head of a table whose first bytes are `held` (all of it when `ended`): undefined when the
 * rows wanted (the header, the first data row) do not end in them yet, so more must be read. A
 * file's plan reads them from the file; a stream's (stream-parts.ts) from its first bytes.
 */
export function headIn(held: Buffer, ended: boolean, options: CutOptions): TableHead | undefined {
  const delimiter = options.delimiter ?? defaultReadOptions.delimiter;
  const tabIsBlank = delimiter !== TAB;
  const isBlank = (c: number) => c === SPACE || (tabIsBlank && c === TAB);
  let p = held[0] === 0xef && held[1] === 0xbb && held[2] === 0xbf ? 3 : 0;
  let header: string[] | undefined;
  let headerPending = options.header;
  let quoted = false;
  for (;;) {
    while (p < held.length && (isBlank(held[p]!) || held[p] === CR || held[p] === LF)) p++;
    if (p >= held.length) return ended ? { header, width: 0, quoted } : undefined;
    const row = splitRow(held, p, held.length, delimiter, isBlank);
    if (!row.complete && !ended) return undefined;
    quoted ||= held.subarray(p, row.next).includes(QUOTE);
    if (!headerPending) return { header, width: row.cells.length, quoted };
    header = row.cells.map((cell) => cellText(held, cell));
    headerPending = false;
    p = row.next;
  }
}

/** Newlines in the file's first `end` bytes: the lines before a part that starts there. */
export async function linesBefore(path: string, end: number): Promise<number> {
  const handle = await open(path, "r");
  const buffer = Buffer.allocUnsafe(1 << 20);
  let lines = 0;
  try {
    for (let offset = 0; offset < end; ) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - offset), offset);
      if (bytesRead === 0) break;
      for (let p = buffer.indexOf(LF); p >= 0 && p < bytesRead; p = buffer.indexOf(LF, p + 1)) lines++;
      offset += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return lines;
}
