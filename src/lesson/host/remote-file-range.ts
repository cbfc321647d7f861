import { readSync } from "node:fs";
import { threadId } from "node:worker_threads";
import type { ReadOptions } from "../../csv/read-options.js";
// Our own codes, not grpc-js's: this module runs on the worker threads, where loading grpc-js
// cost each thread ~7 MiB (the server's peak on a 1.1 GB table rose from ~151 to ~167 MiB).
import { Status as status } from "../../rpc/grpc-status.js";
import { type SumPiece, sumTablePiece } from "../compute/sum-table-piece.js";

/**
 * The worker threads' half of `--remote-paths` (remote-file.ts hands out the ranges): a worker
 * reads its own stripes of the server's file with positioned reads into a buffer of its own, cuts
 * them at rows' ends and parses them, so both threads read and parse at once and the event loop
 * only hands out offsets.
 *
 * Where a stripe's piece starts and ends is decided by its own bytes alone, so that no worker
 * waits for another's cut: the call's [start, end) is striped every `stride` bytes at s_k, and
 * piece k is [rowStart(s_k), rowStart(s_k+1)), rowStart(x) being just after the first newline at
 * or after x - 1 (the call's start and end are their own). Both neighbours of a boundary read the
 * same bytes and find the same newline. That newline is a row's end only outside quotes: a
 * piece holding a quote is not parsed here; the event loop reads on from its start the old way,
 * where the quotes' parity carries from piece to piece (piece-cutter.ts).
 *
 * A line longer than `maxLine` (>= stride) crosses a boundary, so it is the last line of the piece
 * before: only that line is measured, and the rows before it are summed so that their own
 * refusals come first, as the cutter orders them.
 */
export interface FileStripes {
  fd: number;
  /** The call's bytes: [start, end) of the file. */
  start: number;
  end: number;
  /** The first stripe's offset, and how many stripes of `stride` bytes from there. */
  from: number;
  stripes: number;
  stride: number;
  maxLine: number;
  /** The read options of a piece at the call's start (with the file's header), and of the others. */
  firstRead: ReadOptions;
  read: ReadOptions;
  /** Set (to 1) by the event loop when the call ends: a stripe not begun is not read. */
  cancelled: Int32Array;
}

export interface StripePiece extends SumPiece {
  /** Bytes of the file in the piece (0: a stripe inside one long row). */
  bytes: number;
  threadId: number;
}

export interface StripesResult {
  pieces: StripePiece[];
  /** A piece here holds a quote: from this offset (a row's start) the file is read the old way. */
  quotedFrom?: number;
  /** The last piece's last line is longer than maxLine: its rows before that line are in `pieces`. */
  lineTooLong?: boolean;
  cancelled?: boolean;
}

const NEWLINE = 0x0a;
const QUOTE = 0x22;
/**
 * A refusal thrown on a worker thread: a ServerError by shape (worker-entry.ts passes an error on
 * by its name and code, and the pool makes it a ServerError again). The class itself would load
 * the google.rpc codecs and protobuf's runtime on every thread, a few MiB each.
 */
class ThreadRefusal extends Error {
  override readonly name = "ServerError";
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Read beyond a stripe's end at once: most rows end within it, so one read per stripe. */
const overRead = 64 << 10;

/**
 * This thread's read buffer, reused by every stripe (fresh megabytes per read cost page faults and
 * collections); it grows to a stride plus the longest line looked for, and stays.
 */
let buffer = Buffer.allocUnsafeSlow(0);

/** The stripes' pieces, summed in order. */
export function sumFileStripes(task: FileStripes): StripesResult {
  const pieces: StripePiece[] = [];
  for (let k = 0; k < task.stripes; k++) {
    const a = task.from + k * task.stride;
    if (a >= task.end) break;
    if (Atomics.load(task.cancelled, 0) !== 0) return { pieces, cancelled: true };
    const b = Math.min(a + task.stride, task.end);
    const one = stripe(task, a, b);
    if (one.quotedFrom !== undefined) return { pieces, quotedFrom: one.quotedFrom };
    if (one.piece) pieces.push(one.piece);
    if (one.lineTooLong) return { pieces, lineTooLong: true };
  }
  return { pieces };
}

function stripe(
  task: FileStripes,
  a: number,
  b: number,
): { piece?: StripePiece; quotedFrom?: number; lineTooLong?: boolean } {
  // The buffer holds the file from `origin`: a - 1, so that a newline just before a counts.
  const origin = a === task.start ? a : a - 1;
  let filled = fill(task, origin, 0, Math.min(b - origin + overRead, task.end - origin));
  let p: number;
  if (a === task.start) p = a;
  else {
    const nl = buffer.indexOf(NEWLINE, 0);
    // No row starts in [a, b): the piece before holds this stripe's bytes.
    if (nl < 0 || origin + nl >= b - 1) return {};
    p = origin + nl + 1;
  }
  // q: the next stripe's rowStart (the call's end for the last stripe).
  let q = task.end;
  if (b < task.end) {
    let at = b - 1 - origin;
    // The last line begins after the last newline before b - 1 (p at least).
    const before = at > 0 ? buffer.lastIndexOf(NEWLINE, at - 1) : -1;
    const lineStart = Math.max(p, origin + before + 1);
    for (;;) {
      const nl = buffer.indexOf(NEWLINE, at);
      if (nl >= 0 && nl < filled) {
        q = origin + nl + 1;
        break;
      }
      at = filled;
      if (origin + filled >= task.end) break;
      // No need to read past the longest line allowed: such a row is refused anyway.
      if (origin + filled > lineStart + task.maxLine) break;
      const want = Math.min(task.maxLine + 1 + lineStart - origin, task.end - origin) - filled;
      filled = fill(task, origin, filled, Math.max(want, 1));
    }
    if (q === task.end && origin + filled < task.end) q = -1;
  }
  const endOfRows = q < 0 ? origin + filled : q;
  const bytes = buffer.subarray(p - origin, endOfRows - origin);
  const quote = bytes.indexOf(QUOTE);
  if (quote >= 0) return { quotedFrom: p };
  // The last line's length, without its newline.
  const lastEnd =
    bytes.byteLength > 0 && bytes[bytes.byteLength - 1] === NEWLINE ? bytes.byteLength - 1 : bytes.byteLength;
  const lastStart = lastEnd > 0 ? bytes.lastIndexOf(NEWLINE, lastEnd - 1) + 1 : 0;
  const tooLong = q < 0 || lastEnd - lastStart > task.maxLine;
  const rows = tooLong ? bytes.subarray(0, lastStart) : bytes;
  const read = p === task.start ? task.firstRead : task.read;
  const piece: StripePiece = { ...sumTablePiece(rows, read), bytes: rows.byteLength, threadId };
  return { piece, lineTooLong: tooLong };
}

/** Reads [origin + filled, origin + filled + length) into the buffer (grown if need be); the new fill. */
function fill(task: FileStripes, origin: number, filled: number, length: number): number {
  if (buffer.byteLength < filled + length) {
    const grown = Buffer.allocUnsafeSlow(Math.max(filled + length, buffer.byteLength * 2));
    buffer.copy(grown, 0, 0, filled);
    buffer = grown;
  }
  let at = filled;
  while (at < filled + length) {
    let n: number;
    try {
      n = readSync(task.fd, buffer, at, filled + length - at, origin + at);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "EIO";
      throw new ThreadRefusal(status.UNAVAILABLE, `the file cannot be read (${code})`);
    }
    // Short of the size it had when opened: cut short (or replaced) while being read.
    if (n === 0) throw new ThreadRefusal(status.ABORTED, "the file is shorter than when it was opened");
    at += n;
  }
  return at;
}
