import type { FileHandle } from "node:fs/promises";
import type { ReadOptions } from "../../csv/read-options.js";
import { Status as status } from "../../rpc/grpc-status.js";
import { ServerError } from "../../rpc/server-error.js";
import { type FileSnapshot, sameFile, snapshotOf } from "../file-snapshot.js";
import { LineTooLong } from "./piece-cutter.js";
import type { FileStripes, StripePiece, StripesResult } from "./remote-file-range.js";
import { tableWorker } from "./table-worker.js";

/**
 * The event loop's half of `--remote-paths` for column sums: it only hands out offsets. Each
 * worker thread reads its stripes of the file itself (remote-file-range.ts), so reading overlaps
 * parsing on both threads; before, the event loop read every piece into the shared slots while the
 * kernels parsed, and that one thread's reads paced both.
 */

/** A file of the server's own, opened and checked (data-root.ts), and the call's byte range of it. */
export interface OwnFile {
  handle: FileHandle;
  /** The path as the client named it, for refusals. */
  path: string;
  rangeStart: number;
  /** 0: to the end of the file. */
  rangeEnd: number;
}

/** Where the call's bytes are, known once the file is stat'ed (the same for both readers). */
export interface OwnFileRange {
  start: number;
  end: number;
  /** The file when the call began to read it: compared again once it is read. */
  before: FileSnapshot;
}

/**
 * Stripes (of a piece's size, 1 MiB by default) per worker task: between two tasks a worker waits
 * for the event loop (table-stream.ts), and a worker's read costs no slot, so tasks may be larger
 * than a client stream's. 4 against 2, interleaved on 4 x 105 MB: a median 944 against 809 MB/s
 * whole (8 could not be told from 4 on a loaded machine; larger tasks leave a longer tail).
 */
const stripesPerTask = 4;

/** The refusal of a server's file that changed while a call read it, as the client says it of its own. */
export function changed(path: string): ServerError {
  return new ServerError(status.ABORTED, `${path}: changed while being read`);
}

/** The call's range of the file, refused beyond the server's cap per call. */
export async function rangeOf(file: OwnFile, maxTableBytes: number): Promise<OwnFileRange> {
  const before = snapshotOf(await file.handle.stat());
  const end = file.rangeEnd > 0 ? Math.min(file.rangeEnd, before.size) : before.size;
  const start = Math.min(file.rangeStart, end);
  if (end - start > maxTableBytes) {
    throw new ServerError(
      status.RESOURCE_EXHAUSTED,
      `${file.path}: the table is larger than this server's cap of ${maxTableBytes} bytes per call`,
    );
  }
  return { start, end, before };
}

/** Whether the workers may read the file: each piece's rows then fit in a stripe (see remote-file-range.ts). */
export function stripesFit(pieceBytes: number, maxLineBytes: number): boolean {
  return maxLineBytes >= pieceBytes;
}

export interface StripedSums {
  bytes: number;
  /** A quote was met: the rest, from this row's start, is to be read by the event loop's cutter. */
  quotedFrom?: number;
}

/**
 * Sums the call's range on the worker threads, two tasks per thread in flight, each piece given
 * to `add` in the file's order. A line too long throws LineTooLong once the rows before it are
 * added; a file cut short or rewritten meanwhile is refused (ABORTED). Tasks still running when
 * it returns or throws are told to stop and awaited: none reads the descriptor after it is closed.
 * The call's cancellation (`signal`) is looked at between tasks (a few milliseconds each): a task
 * is never aborted on its thread, as it may be reading.
 */
export async function sumStripes(
  file: OwnFile,
  range: OwnFileRange,
  run: <T>(module: URL, exportName: string, args: unknown[]) => Promise<T>,
  threads: number,
  settings: { read: ReadOptions; pieceBytes: number; maxLineBytes: number },
  add: (piece: StripePiece) => void,
  signal: AbortSignal,
): Promise<StripedSums> {
  const cancelled = new Int32Array(new SharedArrayBuffer(4));
  const pending: Array<Promise<StripesResult>> = [];
  const stride = settings.pieceBytes;
  const span = stride * stripesPerTask;
  const firstRead = { ...settings.read };
  const read = { ...settings.read, startsFile: false, header: false };
  let next = range.start;
  let bytes = 0;
  const dispatch = () => {
    const task: FileStripes = {
      fd: file.handle.fd,
      start: range.start,
      end: range.end,
      from: next,
      stripes: stripesPerTask,
      stride,
      maxLine: settings.maxLineBytes,
      firstRead,
      read,
      cancelled,
    };
    next += span;
    const ran = run<StripesResult>(tableWorker, "sumFileStripes", [task]);
    // Awaited in order below; a refusal of a later one must not go unhandled meanwhile.
    ran.catch(() => {});
    pending.push(ran);
  };
  try {
    while (next < range.end || pending.length > 0) {
      while (next < range.end && pending.length < threads * 2) dispatch();
      signal.throwIfAborted();
      let result: StripesResult;
      try {
        result = await pending.shift()!;
      } catch (error) {
        throw named(error, file.path);
      }
      signal.throwIfAborted();
      for (const piece of result.pieces) {
        bytes += piece.bytes;
        add(piece);
      }
      if (result.lineTooLong) throw new LineTooLong(settings.maxLineBytes, 0);
      if (result.quotedFrom !== undefined) return { bytes, quotedFrom: result.quotedFrom };
    }
    // Written to while it was read (in place: the same descriptor sees it): its pieces may mix
    // old and new bytes, so the call is refused rather than answered.
    if (!sameFile(range.before, snapshotOf(await file.handle.stat()))) throw changed(file.path);
    return { bytes };
  } finally {
    Atomics.store(cancelled, 0, 1);
    await Promise.allSettled(pending);
  }
}

/** A worker's refusal, naming the file: cut short means changed. */
function named(error: unknown, path: string): unknown {
  if (!(error instanceof ServerError)) return error;
  if (error.code === status.ABORTED) return changed(path);
  return new ServerError(error.code, `${path}: ${error.message}`);
}
