import type { FileHandle } from "node:fs/promises";
import { status } from "@grpc/grpc-js";
import { ServerError } from "../../rpc/server-error.js";

const NEWLINE = 0x0a;

/**
 * Regroups a byte stream into pieces that end at a newline (except the last), each at least
 * `target` bytes, so that every piece can be parsed on its own. Only moves bytes.
 *
 * Each piece is copied into memory from `allocate`, which may make it wait (by default a fresh
 * Buffer that owns its whole memory, so it can be moved to a worker thread); the bytes after the last newline stay behind
 * as a view of their chunk.
 */
export async function* cutPieces(
  chunks: AsyncIterable<Uint8Array>,
  target: number,
  maxLine: number,
  allocate: (bytes: number) => Uint8Array | Promise<Uint8Array> = Buffer.allocUnsafeSlow,
): AsyncGenerator<Uint8Array> {
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  // held[0 .. searched) are known to hold no newline: a long line is not searched again and again.
  let searched = 0;
  for await (const chunk of chunks) {
    if (chunk.byteLength === 0) continue;
    held.push(chunk);
    heldBytes += chunk.byteLength;
    if (heldBytes < target) continue;
    // The last newline is nearly always in the last chunk: look there first, then further back.
    let at = held.length - 1;
    let cut = -1;
    for (; at >= searched && cut < 0; at--) cut = held[at]!.lastIndexOf(NEWLINE);
    if (cut < 0) {
      searched = held.length;
      if (heldBytes > maxLine) {
        throw new ServerError(status.RESOURCE_EXHAUSTED, `a line is longer than ${maxLine} bytes`);
      }
      continue;
    }
    at++;
    const last = held[at]!;
    const parts = [...held.slice(0, at), last.subarray(0, cut + 1)];
    const rest = [last.subarray(cut + 1), ...held.slice(at + 1)].filter((part) => part.byteLength > 0);
    const pieceBytes = parts.reduce((n, part) => n + part.byteLength, 0);
    held = rest;
    heldBytes -= pieceBytes;
    // What is left came after the last newline.
    searched = held.length;
    yield copyInto(await allocate(pieceBytes), parts);
  }
  if (heldBytes > 0) yield copyInto(await allocate(heldBytes), held);
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
}

/**
 * Reads bytes [start, end) of an open file straight into pieces (a server's own file: no client,
 * no chunks): each piece's memory is read into by the kernel, cut after its last newline, and the
 * few bytes after it are carried into the next piece. Nothing is read twice or copied whole, and
 * no buffer is made per read (fresh memory costs page faults and collections).
 */
export async function* readPieces(
  handle: FileHandle,
  start: number,
  end: number,
  target: number,
  maxLine: number,
  memory: PieceMemory,
): AsyncGenerator<Uint8Array> {
  let carry: Uint8Array = new Uint8Array(0);
  let position = start;
  for (;;) {
    const left = end - position;
    if (left <= 0) {
      if (carry.byteLength > 0) yield copyInto(await memory.take(carry.byteLength), [carry]);
      return;
    }
    const piece = await memory.take(carry.byteLength + Math.min(left, target));
    piece.set(carry, 0);
    let filled = carry.byteLength;
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
    const cut = piece.lastIndexOf(NEWLINE);
    if (cut < 0) {
      memory.give(piece);
      if (filled > maxLine) {
        throw new ServerError(status.RESOURCE_EXHAUSTED, `a line is longer than ${maxLine} bytes`);
      }
      carry = Uint8Array.prototype.slice.call(piece, 0, filled);
      continue;
    }
    carry = Uint8Array.prototype.slice.call(piece, cut + 1, filled);
    yield piece.subarray(0, cut + 1);
  }
}
