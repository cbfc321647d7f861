import { type FileHandle, open } from "node:fs/promises";

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;

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
}

/** Bytes read at a time when looking for a line's end. */
const window = 64 << 10;

export interface CutOptions {
  header?: boolean;
  /** Delimiter byte (default ";"): a tab is blank space around cells only when it is not the delimiter. */
  delimiter?: number;
}

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
    const columns = await firstRowWidth(handle, options);
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

/** Cells in the first data row (after a byte-order mark, blank lines and the header); 0 if none. */
async function firstRowWidth(handle: FileHandle, options: CutOptions): Promise<number> {
  const delimiter = options.delimiter ?? 0x3b;
  const tabIsBlank = delimiter !== TAB;
  let headerPending = options.header ?? false;
  let held = Buffer.alloc(0);
  let offset = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(window);
    const { bytesRead } = await handle.read(chunk, 0, window, offset);
    offset += bytesRead;
    held = Buffer.concat([held, chunk.subarray(0, bytesRead)]);
    let p = offset === bytesRead && held[0] === 0xef && held[1] === 0xbb && held[2] === 0xbf ? 3 : 0;
    for (;;) {
      const newline = held.indexOf(LF, p);
      if (newline < 0 && bytesRead > 0) break;
      const end = newline < 0 ? held.length : newline;
      let q = p;
      while (q < end && (held[q] === SPACE || held[q] === CR || (held[q] === TAB && tabIsBlank))) q++;
      if (q < end) {
        if (!headerPending) {
          let cells = 1;
          for (let i = q; i < end; i++) if (held[i] === delimiter) cells++;
          return cells;
        }
        headerPending = false;
      }
      if (newline < 0) return 0;
      p = newline + 1;
    }
    held = held.subarray(p);
    if (bytesRead === 0) return 0;
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
