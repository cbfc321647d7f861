import type { FileHandle } from "node:fs/promises";
import { status } from "@grpc/grpc-js";
import { lastRowBreak } from "../../csv/quoted-rows.js";
import { ServerError } from "../../rpc/server-error.js";
import { type BudgetHolder, BufferBudgetSpent } from "./byte-budget.js";

export { BufferBudgetSpent };

const NEWLINE = 0x0a;
const QUOTE = 0x22;
/** Bytes of a message's own framing (gRPC's, the proto's tag and length) around its chunk. */
const framingSlack = 64;

/** A line (the one after the last newline cut) is longer than the cap: the caller names its number. */
export class LineTooLong extends Error {
  /** @param heldLines whole lines still held before the long one (not yet in any piece) */
  constructor(
    readonly maxLine: number,
    readonly heldLines: number,
  ) {
    super(`the line is longer than this server's cap of ${maxLine} bytes (--max-line-bytes)`);
  }
}

/**
 * Regroups a byte stream into pieces that end at a row's end (a newline outside quotes), except
 * the last, each at least `target` bytes, so that every piece can be parsed on its own. Only moves
 * bytes. Each chunk is looked at once as it arrives: its last newline, or, when it holds a quote,
 * every byte for the quotes' parity (src/csv/quoted-rows.ts).
 *
 * Each piece is copied into memory from `allocate`, which may make it wait (by default a fresh
 * Buffer that owns its whole memory, so it can be moved to a worker thread); the bytes after the
 * last row's end stay behind as views of their chunks. Those held bytes are bounded per call
 * (`maxLine`: LineTooLong) and, when a budget is given, count against it while held
 * (BufferBudgetSpent when it is spent); they are given back whatever the outcome. Bytes inside
 * quotes beyond `maxLine` are cut at their last newline all the same: the scanner then refuses the
 * piece in words (a quote left open, or a stray quote), which says more than "line too long".
 *
 * With `lend`, a chunk of at least `target` bytes that owns its memory (a received message: grpc-js
 * gives each its own Buffer) and holds no quote is not copied: the bytes held before it and its
 * first row go into one small piece (copied), its rows from the second to the last go as a view
 * of it (`lend` counts its slot and marks its memory to be moved to the worker), and the bytes
 * after its last newline are copied out to be held, as the chunk's memory leaves with the piece.
 * Copying each megabyte into a slot cost the server's event loop as much as receiving it.
 */
export async function* cutPieces(
  chunks: AsyncIterable<Uint8Array>,
  target: number,
  maxLine: number,
  allocate: (bytes: number) => Uint8Array | Promise<Uint8Array> = Buffer.allocUnsafeSlow,
  budget?: BudgetHolder,
  lend?: (piece: Uint8Array) => Promise<void>,
): AsyncGenerator<Uint8Array> {
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  // The last row's end in held: held[cutAt][cutOffset] is its newline; cutAt -1: none yet.
  let cutAt = -1;
  let cutOffset = -1;
  // Bytes after it: the row being received, which must stay within the cap.
  let tail = 0;
  let inQuotes = false;
  const cut = async (at: number, offset: number) => {
    const last = held[at]!;
    const parts = [...held.slice(0, at), last.subarray(0, offset + 1)];
    const rest = [last.subarray(offset + 1), ...held.slice(at + 1)].filter((part) => part.byteLength > 0);
    const pieceBytes = parts.reduce((n, part) => n + part.byteLength, 0);
    held = rest;
    heldBytes -= pieceBytes;
    budget?.give(pieceBytes);
    cutAt = -1;
    return copyInto(await allocate(pieceBytes), parts);
  };
  try {
    for await (const chunk of budget ? untilEvicted(chunks, budget.signal) : chunks) {
      if (chunk.byteLength === 0) continue;
      if (budget && !budget.take(chunk.byteLength)) throw new BufferBudgetSpent(budget.capBytes);
      const first = lend && !inQuotes && ownsMemory(chunk, target) ? firstRowEnd(chunk) : -1;
      // Its first row must end within the cap (else the path below refuses it in words).
      if (first >= 0 && tail + first < maxLine) {
        const last = chunk.lastIndexOf(NEWLINE);
        held.push(chunk.subarray(0, first + 1));
        heldBytes += first + 1;
        const joint = await cut(held.length - 1, first);
        // The rest of the chunk is not held any more: what stays is copied out of it.
        const rest = Uint8Array.prototype.slice.call(chunk, last + 1) as Uint8Array;
        budget?.give(chunk.byteLength - (first + 1) - rest.byteLength);
        held = rest.byteLength > 0 ? [rest] : [];
        heldBytes = rest.byteLength;
        tail = rest.byteLength;
        yield joint;
        if (last > first) {
          const body = chunk.subarray(first + 1, last + 1);
          await lend!(body);
          yield body;
        }
        // The pieces before a row too long are yielded first: their refusals come first.
        if (tail > maxLine) throw new LineTooLong(maxLine, 0);
        continue;
      }
      held.push(chunk);
      heldBytes += chunk.byteLength;
      const scan = lastRowBreak(chunk, 0, chunk.byteLength, inQuotes);
      inQuotes = scan.inQuotes;
      if (scan.cut >= 0) {
        cutAt = held.length - 1;
        cutOffset = scan.cut;
        tail = chunk.byteLength - scan.cut - 1;
      } else tail += chunk.byteLength;
      if (tail > maxLine) {
        // Past the cap inside quotes: cut at the last newline all the same, so that the scanner
        // says why (a quote left open, or a stray one). Else the row is too long.
        const raw = inQuotes ? lastNewline(held) : undefined;
        if (!raw || raw.at < cutAt || (raw.at === cutAt && raw.offset <= cutOffset))
          throw new LineTooLong(maxLine, rowsHeld(held, cutAt, cutOffset));
        yield await cut(raw.at, raw.offset);
        inQuotes = false;
        tail = heldBytes;
        continue;
      }
      if (heldBytes >= target && cutAt >= 0) yield await cut(cutAt, cutOffset);
    }
    if (heldBytes > 0) yield copyInto(await allocate(heldBytes), held);
  } finally {
    budget?.give(heldBytes);
  }
}

/**
 * Whether a chunk is a whole message's own memory, at least `target` bytes: only its framing
 * around it, and not shared (a slot) nor a view of a larger buffer (a stored table, a pool).
 */
function ownsMemory(chunk: Uint8Array, target: number): boolean {
  return (
    chunk.byteLength >= target &&
    !(chunk.buffer instanceof SharedArrayBuffer) &&
    chunk.buffer.byteLength - chunk.byteLength <= framingSlack
  );
}

/** The first newline of a chunk without quotes (a row's end), or -1 (none, or quotes to parse). */
function firstRowEnd(chunk: Uint8Array): number {
  if (chunk.indexOf(QUOTE) >= 0) return -1;
  return chunk.indexOf(NEWLINE);
}

/**
 * The chunks until the budget takes its bytes back: a call waiting on a stalled client for its
 * next chunk is then refused at once (the eviction's reason is thrown), not when the client sends.
 */
async function* untilEvicted(
  chunks: AsyncIterable<Uint8Array>,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const iterator = chunks[Symbol.asyncIterator]();
  try {
    for (;;) {
      if (signal.aborted) throw signal.reason;
      // A promise of its own for each wait, dropped after it: racing every chunk against one
      // long-lived promise would leave a reaction per race on it, each holding its chunk.
      let onAbort: () => void = () => {};
      const evicted = new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason);
        signal.addEventListener("abort", onAbort, { once: true });
      });
      evicted.catch(() => {});
      let next: IteratorResult<Uint8Array>;
      try {
        next = await Promise.race([iterator.next(), evicted]);
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    // The stream is not awaited: a stalled client may never answer.
    void iterator.return?.()?.catch?.(() => {});
  }
}

/** The last newline in the held chunks, quoted or not. */
function lastNewline(held: Uint8Array[]): { at: number; offset: number } | undefined {
  for (let at = held.length - 1; at >= 0; at--) {
    const offset = held[at]!.lastIndexOf(NEWLINE);
    if (offset >= 0) return { at, offset };
  }
  return undefined;
}

/** Newlines up to the last row's end in held (cutAt -1: none): the lines before the long row. */
function rowsHeld(held: Uint8Array[], cutAt: number, cutOffset: number): number {
  if (cutAt < 0) return 0;
  return countNewlines([...held.slice(0, cutAt), held[cutAt]!.subarray(0, cutOffset + 1)]);
}

function countNewlines(parts: Uint8Array[]): number {
  let n = 0;
  for (const part of parts) for (let i = part.indexOf(NEWLINE); i >= 0; i = part.indexOf(NEWLINE, i + 1)) n++;
  return n;
}

function copyInto(piece: Uint8Array, parts: Uint8Array[]): Uint8Array {
  let offset = 0;
  for (const part of parts) {
    piece.set(part, offset);
    offset += part.byteLength;
  }
  return piece;
}

/** Where a file's piece reader gets memory, and gives back what it did not yield. */
export interface PieceMemory {
  take: (bytes: number) => Uint8Array | Promise<Uint8Array>;
  give: (piece: Uint8Array) => void;
  /** Counts a slot for a piece left in its chunk's own memory (cutPieces); none: every piece is copied. */
  lend?: (piece: Uint8Array) => Promise<void>;
}

/**
 * Reads bytes [start, end) of an open file straight into pieces (a server's own file: no client,
 * no chunks): each piece's memory is read into by the kernel, cut after its last row's end (a
 * newline outside quotes, as cutPieces cuts), and the
 * few bytes after it are carried into the next piece. Nothing is read twice or copied whole, and
 * no buffer is made per read (fresh memory costs page faults and collections). The carried bytes
 * are held outside the slots: they count against the budget, when one is given.
 */
export async function* readPieces(
  handle: FileHandle,
  start: number,
  end: number,
  target: number,
  maxLine: number,
  memory: PieceMemory,
  budget?: BudgetHolder,
): AsyncGenerator<Uint8Array> {
  let carry: Uint8Array = new Uint8Array(0);
  // Whether the carried bytes end inside quotes, and how many of them were scanned already.
  let carryInQuotes = false;
  const hold = (next: Uint8Array) => {
    budget?.give(carry.byteLength);
    carry = new Uint8Array(0);
    if (budget && !budget.take(next.byteLength)) throw new BufferBudgetSpent(budget.capBytes);
    carry = next;
  };
  let position = start;
  try {
    for (;;) {
      const left = end - position;
      if (left <= 0) {
        if (carry.byteLength > 0) yield copyInto(await memory.take(carry.byteLength), [carry]);
        return;
      }
      const piece = await memory.take(carry.byteLength + Math.min(left, target));
      piece.set(carry, 0);
      const carried = carry.byteLength;
      let filled = carried;
      try {
        while (filled < piece.byteLength) {
          const { bytesRead } = await handle.read(piece, filled, piece.byteLength - filled, position);
          if (bytesRead === 0)
            throw new ServerError(status.ABORTED, "the file is shorter than when it was opened");
          filled += bytesRead;
          position += bytesRead;
        }
      } catch (error) {
        memory.give(piece);
        throw error;
      }
      if (position >= end) {
        yield piece;
        return;
      }
      // The carried bytes were looked at already: they hold no row's end.
      const scan = lastRowBreak(piece, carried, filled, carryInQuotes);
      let cut = scan.cut;
      carryInQuotes = scan.inQuotes;
      if (cut < 0 && filled > maxLine && scan.inQuotes) {
        // Past the cap inside quotes: cut at the last newline all the same (see cutPieces).
        cut = piece.lastIndexOf(NEWLINE, filled - 1);
        carryInQuotes = false;
      }
      if (cut < 0) {
        memory.give(piece);
        // The whole piece is one row (the carry held no row's end either).
        if (filled > maxLine) throw new LineTooLong(maxLine, 0);
        hold(Uint8Array.prototype.slice.call(piece, 0, filled));
        continue;
      }
      hold(Uint8Array.prototype.slice.call(piece, cut + 1, filled));
      yield piece.subarray(0, cut + 1);
    }
  } finally {
    budget?.give(carry.byteLength);
  }
}
