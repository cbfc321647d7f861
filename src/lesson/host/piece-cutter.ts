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
