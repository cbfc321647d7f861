import { open } from "node:fs/promises";
import { CR, LF, QUOTE, SPACE, TAB } from "../../csv/byte-codes.js";
import { type CutOptions, type TablePart, tableHead } from "./line-cuts.js";

/** How to cut: never, automatically when it pays, or into parts of about this many bytes. */
export type SplitMode = { kind: "none" } | { kind: "auto" } | { kind: "size"; bytes: number };

/** Files smaller than this are sent whole by `auto`: below it, a part's overhead outweighs the gain. */
export const autoSplitMinBytes = 32 << 20;
/** Smallest part `auto` makes. */
export const autoSplitMinPart = 8 << 20;
/** What one more call costs, in bytes of table it could have parsed meanwhile (a guess on the safe side). */
const callCostBytes = 1 << 20;

/**
 * How `auto` cuts each file of a job (the part size, or undefined: whole), decided from all the
 * files' sizes and the pool's servers: it estimates the job's span (the busiest server, files
 * placed largest first) whole and cut into about two parts per server, and cuts only when that is
 * at least 5% shorter. Servers, not worker threads: one table stream already keeps all of its
 * server's threads busy (its pieces go to every thread), so a part more on the same server only
 * adds a call (measured: one 105 MB file on one 2-thread server took 0.60 s whole, 1.8 s in 32 MB
 * parts). So four equal files on two servers stay whole, one big file is cut for two servers (not
 * for one), three files on two servers are cut (the third would run alone), small ones never.
 */
export function autoPartSizes(sizes: readonly number[], servers: number): Array<number | undefined> {
  const slots = Math.max(1, servers);
  const whole = sizes.map(() => undefined);
  const total = sizes.reduce((n, size) => n + size, 0);
  const target = Math.max(autoSplitMinPart, Math.ceil(total / (2 * slots)));
  const cut = sizes.map((size) => {
    if (size < autoSplitMinBytes || size <= target) return undefined;
    return Math.ceil(size / Math.ceil(size / target));
  });
  const spanWhole = span(sizes, slots);
  const spanCut = span(
    sizes.flatMap((size, i) => {
      const part = cut[i];
      return part === undefined ? [size] : Array(Math.ceil(size / part)).fill(size / Math.ceil(size / part));
    }),
    slots,
  );
  return spanCut < 0.95 * spanWhole ? cut : whole;
}

/** The busiest server's bytes when tasks go, largest first, to the least loaded one. */
function span(tasks: readonly number[], slots: number): number {
  const loads = new Array<number>(Math.max(1, slots)).fill(0);
  for (const task of [...tasks].sort((a, b) => b - a)) {
    let least = 0;
    for (let i = 1; i < loads.length; i++) if (loads[i]! < loads[least]!) least = i;
    loads[least]! += task + callCostBytes;
  }
  return Math.max(...loads);
}

interface ScanOptions extends CutOptions {
  /** Cut after the first row's end at or past each multiple of this many bytes. */
  partBytes: number;
}

/**
 * Cuts a file into row ranges at rows' ends, in one sequential read: each part's byte range,
 * the line number of its first byte, its data rows (blank lines and the header do not count, as
 * the server reads them) and the table's width from its first data row. Row counts let weights be
 * sliced per part; line numbers keep error positions those of the whole file. A newline inside
 * quotes is no row's end: parts are never cut there, and the lines after it are not rows.
 */
export async function planSplit(path: string, options: ScanOptions): Promise<TablePart[]> {
  const tabIsBlank = options.delimiter !== TAB;
  const { width: columns } = await tableHead(path, options);
  const handle = await open(path, "r");
  const buffer = Buffer.allocUnsafe(1 << 20);
  const parts: TablePart[] = [];
  let partStart = 0;
  let partFirstLine = 1;
  let partRows = 0;
  let line = 1;
  let offset = 0;
  // State of the row being read: whether it has a non-blank byte yet, and is inside quotes.
  let lineHasContent = false;
  let inQuotes = false;
  let headerPending = options.header;
  let nextCut = options.partBytes;
  let atFileStart = true;
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      if (bytesRead === 0) break;
      const bytes = buffer.subarray(0, bytesRead);
      // Quotes are looked for only in a buffer that has one: most tables have none.
      const quotes = bytes.indexOf(QUOTE) >= 0;
      let p = 0;
      if (atFileStart) {
        atFileStart = false;
        if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) p = 3;
      }
      while (p < bytesRead) {
        if (!lineHasContent) {
          // Skip the blanks at the start of a row; the first other byte makes it a data row.
          while (p < bytesRead) {
            const c = bytes[p]!;
            if (c === SPACE || c === CR || (c === TAB && tabIsBlank)) p++;
            else break;
          }
          if (p === bytesRead) break;
          if (bytes[p] !== LF) {
            lineHasContent = true;
            if (headerPending) headerPending = false;
            else partRows++;
          }
        }
        const newline = bytes.indexOf(LF, p);
        const lineEnd = newline < 0 ? bytesRead : newline;
        if (quotes) {
          for (let q = bytes.indexOf(QUOTE, p); q >= 0 && q < lineEnd; q = bytes.indexOf(QUOTE, q + 1))
            inQuotes = !inQuotes;
        }
        if (newline < 0) break;
        line++;
        p = newline + 1;
        // A newline inside quotes: the row goes on.
        if (inQuotes) continue;
        lineHasContent = false;
        const absolute = offset + p;
        if (absolute >= nextCut) {
          parts.push({
            start: partStart,
            end: absolute,
            firstLine: partFirstLine,
            rows: partRows,
            columns: 0,
          });
          partStart = absolute;
          partFirstLine = line;
          partRows = 0;
          nextCut = absolute + options.partBytes;
        }
      }
      offset += bytesRead;
    }
  } finally {
    await handle.close();
  }
  if (offset > partStart || parts.length === 0) {
    parts.push({ start: partStart, end: offset, firstLine: partFirstLine, rows: partRows, columns: 0 });
  }
  for (const part of parts) part.columns = columns;
  return parts;
}

/** `--split auto|none|SIZE`: SIZE in bytes, or with a suffix K, M, G (KB, MB, GB, KiB, ... alike: powers of 1024). */
export function parseSplit(value: string): SplitMode | undefined {
  const text = value.trim().toLowerCase();
  if (text === "auto") return { kind: "auto" };
  if (text === "none") return { kind: "none" };
  const match = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/.exec(text);
  if (!match) return undefined;
  const unit = match[2]?.[0];
  const scale = unit === "k" ? 1 << 10 : unit === "m" ? 1 << 20 : unit === "g" ? 1 << 30 : 1;
  const bytes = Math.round(Number(match[1]) * scale);
  return bytes >= 1 ? { kind: "size", bytes } : undefined;
}
