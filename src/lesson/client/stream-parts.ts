import { lastRowBreak } from "../../csv/quoted-rows.js";
import { type CutOptions, headIn, type TableHead, type TablePart } from "./line-cuts.js";
import type { ReadInto } from "./table-input.js";

/**
 * A table that can be read once (standard input, a pipe, a FIFO, a process substitution) is cut
 * into parts as it is read, never read whole first: each part is held in memory until its server
 * has answered (so that a part whose server fails can be sent again to another), and the job reads
 * the next part while the first are sent. Memory is therefore about the parts in flight, whatever
 * the table's size (docs/cli.md, Inputs).
 */

/** Bytes of one message of a stream's upload: as a file's (chunkBytesFor), the per-message cost amortised. */
export const streamChunkBytes = 1 << 20;

/** What a stream's job holds at most in parts not yet answered, for `auto` (see streamPartBytes). */
export const streamHeldBytes = 48 << 20;

/** One part of a stream: where it is in the table, and its bytes (held until its outcome is known). */
export interface StreamPart {
  part: TablePart;
  content: Buffer[];
  bytes: number;
  /** The table's head, read from its first bytes (the first part's), for --columns. */
  head: TableHead;
  /** The stream ended with this part (a first part that is also the last is the whole table). */
  last: boolean;
}

/**
 * Buffers of `streamChunkBytes` used again once a part is answered: a fresh megabyte costs the
 * kernel more (mapping, faulting in pages) than the copy into it (see read-buffers.ts).
 */
export class ChunkPool {
  readonly #free: Buffer[] = [];
  /** `size`: streamChunkBytes, or less for small parts (a part is cut only where a buffer ends). */
  constructor(readonly size = streamChunkBytes) {}
  take(): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }
  /** Gives back a part's buffers (views of pooled ones; others are left to the collector). */
  give(content: readonly Buffer[]): void {
    for (const view of content) {
      if (view.byteOffset === 0 && view.buffer.byteLength === this.size)
        this.#free.push(Buffer.from(view.buffer, 0, this.size));
    }
  }
}

/** The pool for parts of `partBytes`: buffers of 1 MiB, or as small as 64 KiB for small parts. */
export function chunkPoolFor(partBytes: number): ChunkPool {
  return new ChunkPool(Math.min(streamChunkBytes, Math.max(64 << 10, partBytes)));
}

/**
 * A stream read into whole buffers of `take()` (the last one short): a pipe gives 64 KiB at a
 * time, and each message costs the client about as much as a megabyte's copy.
 */
export async function* filled(read: ReadInto, take: () => Buffer | Promise<Buffer>): AsyncGenerator<Buffer> {
  for (;;) {
    const buffer = await take();
    let used = 0;
    while (used < buffer.length) {
      const n = await read(buffer, used, buffer.length - used);
      if (n === 0) break;
      used += n;
    }
    if (used > 0) yield used === buffer.length ? buffer : buffer.subarray(0, used);
    if (used < buffer.length) return;
  }
}

/**
 * Cuts a stream into parts of at least `partBytes`, each ending at a row's end: the last newline
 * outside quotes read so far (quoted-rows.ts), so a quoted cell that holds a newline is never cut.
 * Each part knows the table's width (its server refuses rows of another); its first line is
 * known only for the first part (see emit). An empty stream is one empty part, as an empty file is.
 */
export async function* streamParts(
  read: ReadInto,
  options: CutOptions & { partBytes: number; pool?: ChunkPool },
): AsyncGenerator<StreamPart> {
  const pool = options.pool ?? chunkPoolFor(options.partBytes);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  // The last row's end in `pending`: its chunk and the newline's offset there.
  let lastBreak: { index: number; at: number } | undefined;
  let inQuotes = false;
  let start = 0;
  let head: TableHead | undefined;
  let ready: StreamPart | undefined;
  const emit = (content: Buffer[], ended: boolean): StreamPart => {
    const bytes = content.reduce((n, c) => n + c.length, 0);
    head ??= headOf(content, ended, options);
    // Lines are not counted here (it was a third of the client's CPU for a piped table): a part
    // after the first goes with firstLine 0, as a file's parts do, and a refusal it earns is
    // placed in the whole table afterwards from the lines the servers read (table-job.ts).
    const part: TablePart = {
      start,
      end: start + bytes,
      firstLine: start === 0 ? 1 : 0,
      columns: head.width,
    };
    start += bytes;
    return { part, content, bytes, head, last: ended };
  };
  for await (const chunk of filled(read, () => pool.take())) {
    const found = lastRowBreak(chunk, 0, chunk.length, inQuotes);
    inQuotes = found.inQuotes;
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (found.cut >= 0) lastBreak = { index: pending.length - 1, at: found.cut };
    if (pendingBytes < options.partBytes || !lastBreak) continue;
    // The part ends just after the newline; the rest of its chunk is copied into a buffer of the
    // next part's, so that every pooled buffer belongs to one part and goes back with it.
    const { index, at } = lastBreak;
    const cutChunk = pending[index]!;
    const content = [...pending.slice(0, index), cutChunk.subarray(0, at + 1)];
    const rest: Buffer[] = [];
    if (at + 1 < cutChunk.length) {
      const copy = pool.take();
      const n = cutChunk.copy(copy, 0, at + 1);
      rest.push(copy.subarray(0, n));
    }
    rest.push(...pending.slice(index + 1));
    pending = rest;
    pendingBytes = rest.reduce((n, c) => n + c.length, 0);
    lastBreak = undefined;
    // A part is given once more bytes follow it, so that the last one is known to be the last.
    if (ready) yield ready;
    ready = emit(content, false);
  }
  if (ready && pendingBytes === 0) {
    ready.last = true;
    yield ready;
    return;
  }
  if (ready) yield ready;
  yield emit(pending, true);
}

/** The head from a part's first bytes: usually its first chunk holds it. */
function headOf(content: Buffer[], ended: boolean, options: CutOptions): TableHead {
  let held: Buffer = Buffer.alloc(0);
  for (const [i, chunk] of content.entries()) {
    held = i === 0 ? chunk : Buffer.concat([held, chunk]);
    const last = i === content.length - 1;
    // A part ends at a row's end: its end is one for the head too (a first row longer than a
    // part is whole in it); only a header alone in the first part leaves the width unknown (0).
    const head = headIn(held, ended && last, options) ?? (last ? headIn(held, true, options) : undefined);
    if (head) return head;
  }
  return { width: 0, quoted: false };
}
