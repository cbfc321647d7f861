import { status } from "@grpc/grpc-js";
import { ServerError } from "./server-error.js";

const NEWLINE = 0x0a;

/**
 * Regroups a byte stream into pieces that end at a newline (except the last), each at least
 * `target` bytes, so that every piece can be parsed on its own. Only moves bytes.
 */
export async function* cutPieces(
  chunks: AsyncIterable<Uint8Array>,
  target: number,
  maxLine: number,
): AsyncGenerator<Buffer> {
  let held: Buffer[] = [];
  let heldBytes = 0;
  for await (const chunk of chunks) {
    if (chunk.byteLength === 0) continue;
    held.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    heldBytes += chunk.byteLength;
    if (heldBytes < target) continue;
    const joined = Buffer.concat(held, heldBytes);
    const cut = joined.lastIndexOf(NEWLINE) + 1;
    if (cut === 0) {
      if (heldBytes > maxLine) {
        throw new ServerError(status.RESOURCE_EXHAUSTED, `a line is longer than ${maxLine} bytes`);
      }
      held = [joined];
      continue;
    }
    // Copy the rest before yielding: the piece's memory may be moved to a worker thread.
    const rest = Buffer.from(joined.subarray(cut));
    held = rest.byteLength > 0 ? [rest] : [];
    heldBytes = rest.byteLength;
    yield joined.subarray(0, cut);
  }
  if (heldBytes > 0) yield Buffer.concat(held, heldBytes);
}
