import { open } from "node:fs/promises";
import type { TablePart } from "./line-cuts.js";

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
 * files' sizes and the pool's worker slots: it estimates the job's span (the busiest slot, files
 * placed largest first) whole and cut into about two parts per slot, and cuts only when that is
 * at least 5% shorter. So four equal files on two slots stay whole (cutting cannot help), one big
 * file is cut, three on two slots are cut (the third would run alone), many small ones never.
 */
export function autoPartSizes(sizes: readonly number[], slots: number): Array<number | undefined> {
  const whole = sizes.map(() => undefined);
  const total = sizes.reduce((n, size) => n + size, 0);
  const target = Math.max(autoSplitMinPart, Math.ceil(total / (2 * Math.max(1, slots))));
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

/** The busiest slot's bytes when tasks go, largest first, to the least loaded slot. */
function span(tasks: readonly number[], slots: number): number {
  const loads = new Array<number>(Math.max(1, slots)).fill(0);
  for (const task of [...tasks].sort((a, b) => b - a)) {
    let least = 0;
    for (let i = 1; i < loads.length; i++) if (loads[i]! < loads[least]!) least = i;
    loads[least]! += task + callCostBytes;
  }
  return Math.max(...loads);
}

interface ScanOptions {
  /** Cut after the first newline at or past each multiple of this many bytes. */
  partBytes: number;
  header?: boolean;
  /** Delimiter byte: a tab is blank space around cells only when it is not the delimiter. */
  delimiter?: number;
}

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;

/**
 * Cuts a file into row ranges at line boundaries, in one sequential read: each part's byte range,
 * the line number of its first byte, its data rows (blank lines and the header do not count, as
 * the server reads them) and the table's width from its first data row. Row counts let weights be
 * sliced per part; line numbers keep error positions those of the whole file.
 */
export async function planSplit(path: string, options: ScanOptions): Promise<TablePart[]> {
  const tabIsBlank = options.delimiter !== TAB;
  const handle = await open(path, "r");
  const buffer = Buffer.allocUnsafe(1 << 20);
  const parts: TablePart[] = [];
  let partStart = 0;
  let partFirstLine = 1;
  let partRows = 0;
  let line = 1;
  let offset = 0;
  // State of the line being read: whether it has a non-blank byte yet.
  let lineHasContent = false;
  let headerPending = options.header ?? false;
  let columns = 0;
  let countingCells = false;
  let nextCut = options.partBytes;
  let atFileStart = true;
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      if (bytesRead === 0) break;
      const bytes = buffer.subarray(0, bytesRead);
      let p = 0;
      if (atFileStart) {
        atFileStart = false;
        if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) p = 3;
      }
      while (p < bytesRead) {
        if (!lineHasContent) {
          // Skip the blanks at the start of a line; the first other byte makes it a data line.
          while (p < bytesRead) {
            const c = bytes[p]!;
            if (c === SPACE || c === CR || (c === TAB && tabIsBlank)) p++;
            else break;
          }
          if (p === bytesRead) break;
          if (bytes[p] !== LF) {
            lineHasContent = true;
            if (headerPending) headerPending = false;
            else {
              partRows++;
              if (columns === 0) countingCells = true;
            }
          }
        }
        const newline = bytes.indexOf(LF, p);
        const lineEnd = newline < 0 ? bytesRead : newline;
        if (countingCells) {
          if (columns === 0) columns = 1;
          for (let q = p; q < lineEnd; q++) if (bytes[q] === (options.delimiter ?? 0x3b)) columns++;
        }
        if (newline < 0) break;
        countingCells = false;
        lineHasContent = false;
        line++;
        p = newline + 1;
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
