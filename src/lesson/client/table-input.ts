import { closeSync, constants, open as fsOpen, read as fsRead, fstatSync, openSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import type { TableDialect } from "../../csv/read-options.js";
import { ClientError } from "../../rpc/client-error.js";
import { Status as status } from "../../rpc/grpc-status.js";
import { type FileSnapshot, sameFile, snapshotOf } from "../file-snapshot.js";
import { pipeReader } from "./pipe-reader.js";
import type { ReadBuffers } from "./read-buffers.js";

/** How a table is read: its dialect, under the name the client's modules (and queued jobs) use. */
export type TableReadOptions = Partial<TableDialect>;

/** Chunk size of uploads: large enough to amortise per-message cost, small enough to stream. */
export const uploadChunkBytes = 256 << 10;

/**
 * The chunk size for a server that takes messages of up to `maxMessageBytes` (0: it did not say):
 * 1 MiB where it may, as each message costs the client about half a millisecond of CPU.
 */
export function chunkBytesFor(maxMessageBytes: number): number {
  if (maxMessageBytes <= 0) return uploadChunkBytes;
  return Math.max(1024, Math.min(1 << 20, maxMessageBytes - 1024));
}

/** The refusal of a file that changed while a job read it: no other server could cure it. */
export function changedError(path: string, why?: string): ClientError {
  return new ClientError(status.ABORTED, `${path}: changed while being read${why ? ` (${why})` : ""}`);
}

/**
 * All of standard input (a FILE argument `-`). Read from the process's own stream, not by opening /dev/stdin: a
 * parent's pipe may be a socket, which cannot be opened by name.
 */
export async function readStdin(): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return chunks;
}

/**
 * The bytes [start, end) of a regular file, read with backpressure: the next chunk is read only
 * when the previous one has been written to the call. The open file is checked against `snapshot`
 * (by default, what it was when opened) before the first read and after the last: a file that
 * changed in between is refused with ABORTED, never read half old and half new. A file that cannot
 * be read is a ClientError (NOT_FOUND, PERMISSION_DENIED), which no other server could cure.
 * Anything else than a regular file (a pipe, a terminal, `-`: standard input) is read once, from
 * its start to its end.
 */
export async function* fileChunks(
  path: string,
  start = 0,
  end?: number,
  snapshot?: FileSnapshot,
  buffers?: ReadBuffers,
): AsyncGenerator<Buffer> {
  if (path === "-") {
    yield* await readStdin();
    return;
  }
  const handle = await open(path, "r").catch((error) => {
    throw readError(path, error);
  });
  try {
    const before = await handle.stat();
    if (before.isDirectory()) throw readError(path, { code: "EISDIR" });
    if (!before.isFile()) {
      yield* handle.createReadStream({ highWaterMark: uploadChunkBytes, autoClose: false });
      return;
    }
    const planned = snapshot ?? snapshotOf(before);
    if (!sameFile(planned, snapshotOf(before))) throw changedError(path);
    const stop = end ?? planned.size;
    for (let position = start; position < stop; ) {
      const buffer = buffers ? await buffers.take() : Buffer.allocUnsafe(uploadChunkBytes);
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, stop - position), position);
      if (bytesRead === 0) throw changedError(path, "it is shorter than planned");
      position += bytesRead;
      yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    }
    if (!sameFile(planned, snapshotOf(await handle.stat()))) throw changedError(path);
  } catch (error) {
    throw error instanceof ClientError ? error : readError(path, error);
  } finally {
    await handle.close();
  }
}

/** What planning found a FILE argument to be (see inspectInput). */
export type InputSource =
  | { kind: "file"; snapshot: FileSnapshot }
  | { kind: "stream"; content: Buffer[]; bytes: number }
  | {
      kind: "live";
      read: ReadInto;
      /** Some of it was read (by a call that may have failed since): it cannot be sent again. */
      started?: boolean;
      /** The first call's failure, said when a second one would have to send it again. */
      failed?: string;
    }
  | { kind: "unreadable"; error: ClientError };

/** Reads into buffer[offset, offset + length): the bytes read, 0 at the end. */
export type ReadInto = (buffer: Buffer, offset: number, length: number) => Promise<number>;

/**
 * Standard input, a pipe, a FIFO or a process substitution, opened and not read yet: its bytes
 * come as the job reads them (stream-parts.ts), so that a table of any size goes through the
 * client in bounded memory. They are read straight into the job's buffers where the input is a
 * pipe (by the event loop, pipe-reader.ts) or a file (no 64 KiB buffer per read for the
 * collector: that cost the client more CPU than the rest of its work); from the process's own
 * stream otherwise (a parent's socket, a terminal). A read error is a ClientError naming the input, as a file's is.
 */
export async function openLive(path: string): Promise<InputSource> {
  if (path === "-") return { kind: "live", read: stdinReader() };
  const regular = regularFile(path);
  if (regular) return regular;
  // One descriptor from the first open to the end. A FIFO's open waits here for a writer; a second
  // descriptor opened later (non-blocking, as a writer may have left by then) never saw a writer,
  // and Linux reports a pipe's end (EPOLLHUP) only to readers that did: a writer that had written
  // and left before it was opened left the reader waiting for ever (1 run in 3 on a loaded machine).
  let fd: number;
  try {
    fd = await new Promise<number>((resolve, reject) =>
      fsOpen(path, "r", (error, fd) => (error ? reject(error) : resolve(fd))),
    );
  } catch (error) {
    return { kind: "unreadable", error: readError(path, error) };
  }
  try {
    const stats = fstatSync(fd);
    if (stats.isDirectory()) throw { code: "EISDIR" };
    if (stats.isFile()) {
      closeSync(fd);
      return { kind: "file", snapshot: snapshotOf(stats) };
    }
    // Read by the event loop, as a piped standard input is (pipe-reader.ts), which makes the
    // descriptor non-blocking.
    if (stats.isFIFO()) return { kind: "live", read: pipeReader(fd, (error) => readError(path, error)) };
  } catch (error) {
    closeSync(fd);
    return { kind: "unreadable", error: readError(path, error) };
  }
  // Anything else (a character device, a socket): read through libuv's thread pool.
  let closed = false;
  const read: ReadInto = (buffer, offset, length) => {
    if (closed) return Promise.resolve(0);
    return new Promise<number>((resolve, reject) =>
      fsRead(fd, buffer, offset, length, null, (error, bytesRead) => {
        if (error) {
          // A failed read ends the input: its descriptor is not left open.
          closed = true;
          closeSync(fd);
          reject(readError(path, error));
        } else {
          if (bytesRead === 0) {
            closed = true;
            closeSync(fd);
          }
          resolve(bytesRead);
        }
      }),
    );
  };
  return { kind: "live", read };
}

/**
 * A regular file's snapshot, opened and looked at without a trip through libuv's thread pool:
 * a job plans its files one after another before its first call, and three asynchronous calls
 * per file (open, fstat, close) were 1.3-2.7 ms of the lesson's ten tables, against 0.1 ms so.
 * Only what cannot block: a path that is not a regular file by stat (a FIFO's open would wait for
 * a writer), or any error, is left to openLive's asynchronous path, which says it as before.
 */
function regularFile(path: string): InputSource | undefined {
  let fd: number | undefined;
  try {
    if (!statSync(path).isFile()) return undefined;
    // Opened as the job's reads will open it (an unreadable file is refused here, as before);
    // non-blocking in case the path became a FIFO since the stat.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const stats = fstatSync(fd);
    return stats.isFile() ? { kind: "file", snapshot: snapshotOf(stats) } : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Standard input: a pipe read by the event loop into the job's buffers (pipe-reader.ts); a file
 * read directly; else (or once a file's read says it would block) through process.stdin, which a
 * socket or a terminal needs.
 */
function stdinReader(): ReadInto {
  let stream: ReadInto | undefined;
  try {
    const stats = fstatSync(0);
    if (stats.isFIFO()) return pipeReader(0, (error) => readError("-", error));
    if (!stats.isFile()) stream = streamReader("-", process.stdin);
  } catch {
    stream = streamReader("-", process.stdin);
  }
  return (buffer, offset, length) => {
    if (stream) return stream(buffer, offset, length);
    return new Promise<number>((resolve, reject) => {
      fsRead(0, buffer, offset, length, null, (error, bytesRead) => {
        if (!error) resolve(bytesRead);
        else if (error.code === "EAGAIN") {
          stream = streamReader("-", process.stdin);
          resolve(stream(buffer, offset, length));
        } else reject(readError("-", error));
      });
    });
  };
}

/** A stream's chunks copied into the buffers the reader is given. */
function streamReader(path: string, stream: AsyncIterable<unknown>): ReadInto {
  const chunks = stream[Symbol.asyncIterator]();
  let held: Buffer = Buffer.alloc(0);
  return async (buffer, offset, length) => {
    try {
      while (held.length === 0) {
        const next = await chunks.next();
        if (next.done) return 0;
        held = next.value as Buffer;
      }
    } catch (error) {
      throw error instanceof ClientError ? error : readError(path, error);
    }
    const n = held.copy(buffer, offset, 0, Math.min(length, held.length));
    held = held.subarray(n);
    return n;
  };
}

/**
 * What a FILE argument is, for planning: a regular file's snapshot, or the whole content of
 * anything else (standard input, a pipe, a process substitution), read now and kept in memory:
 * a pipe can be read once only, and a task whose server fails must be able to send it again.
 */
export async function inspectInput(path: string): Promise<Exclude<InputSource, { kind: "live" }>> {
  // Opened as a live input is (one place decides what a path is), then read to its end.
  const source = await openLive(path);
  if (source.kind !== "live") return source;
  const content: Buffer[] = [];
  let bytes = 0;
  try {
    for (let end = false; !end; ) {
      // Each buffer is filled before the next: a pipe's small reads do not each hold a buffer.
      const buffer = Buffer.allocUnsafe(uploadChunkBytes);
      let filled = 0;
      while (filled < buffer.length) {
        const n = await source.read(buffer, filled, buffer.length - filled);
        if (n === 0) {
          end = true;
          break;
        }
        filled += n;
      }
      if (filled > 0) content.push(filled === buffer.length ? buffer : buffer.subarray(0, filled));
      bytes += filled;
    }
  } catch (error) {
    return { kind: "unreadable", error: error instanceof ClientError ? error : readError(path, error) };
  }
  return { kind: "stream", content, bytes };
}

function readError(path: string, error: unknown): ClientError {
  const code = (error as NodeJS.ErrnoException).code;
  const grpcCode =
    code === "ENOENT"
      ? status.NOT_FOUND
      : code === "EACCES" || code === "EPERM"
        ? status.PERMISSION_DENIED
        : status.FAILED_PRECONDITION;
  const reason =
    code === "ENOENT"
      ? "no such file"
      : code === "EISDIR"
        ? "is a directory"
        : code === "EACCES" || code === "EPERM"
          ? "permission denied" // not Node's "EACCES: permission denied, open '...'"
          : (error as Error).message;
  return new ClientError(grpcCode, `cannot read ${path}: ${reason}`);
}
