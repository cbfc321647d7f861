import { open } from "node:fs/promises";
import { status } from "@grpc/grpc-js";
import { type ReadOptions, readOptionsFrom } from "../../csv/read-options.js";
import type { TableOptions } from "../../gen/rpcpool/compute/v1/table.js";
import type { ServiceTools } from "../../host/hosted-service.js";
import { invalidArgument, ServerError } from "../../rpc/server-error.js";
import { TableMerger } from "../compute/merge-pieces.js";
import type { DataRoot } from "./data-root.js";
import { cutPieces, type PieceMemory, readPieces } from "./piece-cutter.js";
import type { PieceSlots } from "./piece-slots.js";
import { type sumPiece, tableWorker, type weighPiece } from "./table-worker.js";

/** What table calls use of the host: its worker threads, and the server's slots for pieces in flight. */
export interface TableWork {
  /** Worker threads: two pieces each are kept in flight. */
  threads: number;
  pieces: PieceSlots;
  run: ServiceTools["runOnWorker"];
}

/** Tuning of table calls; defaults suit a 1 MiB piece parsed in a few milliseconds. */
export interface TableLimits {
  pieceBytes: number;
  maxLineBytes: number;
  /** Most bytes one table call may carry (or read from a remote file). */
  maxTableBytes: number;
}

export const defaultTableLimits: TableLimits = {
  pieceBytes: 1 << 20,
  maxLineBytes: 64 << 20,
  maxTableBytes: Number.POSITIVE_INFINITY,
};

/** Passes bytes on while their total stays within the cap. */
async function* capped(chunks: AsyncIterable<Uint8Array>, maxBytes: number, fileName: string) {
  let total = 0;
  for await (const chunk of chunks) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      throw new ServerError(
        status.RESOURCE_EXHAUSTED,
        `${fileName}: the table is larger than this server's cap of ${maxBytes} bytes per call`,
      );
    }
    yield chunk;
  }
}

/** A table stream's first message, parsed: where its bytes come from and how to read them. */
export interface TableCall {
  fileName: string;
  read: ReadOptions;
  firstLine: number;
  /** Width of the whole table, when the client split it and knows it; 0 otherwise. */
  expectedColumns: number;
  /** The bytes as the client sends them, to be cut into pieces. */
  chunks: AsyncIterable<Uint8Array>;
  /** Or, for a file of the server's own, its pieces read straight into their memory. */
  pieces?: (limits: TableLimits, memory: PieceMemory) => AsyncIterable<Uint8Array>;
}

async function* noBytes(): AsyncGenerator<Uint8Array> {}

/** A call's pieces: read straight from the server's file, or cut from the client's bytes. */
function piecesOf(call: TableCall, limits: TableLimits, memory: PieceMemory): AsyncIterable<Uint8Array> {
  if (call.pieces) return call.pieces(limits, memory);
  return cutPieces(
    capped(call.chunks, limits.maxTableBytes, call.fileName),
    limits.pieceBytes,
    limits.maxLineBytes,
    memory.take,
  );
}

/** Where a table call may find bytes besides its stream: the server's value store. */
export interface StoredValues {
  get(handle: string): Buffer;
}

/**
 * Splits a table stream into its options and its bytes, refusing a stream of the wrong shape. With
 * a remote path, the bytes come from the file under the data root instead of the stream; with a
 * table handle, from the server's value store.
 */
export async function openTableCall<Req extends { chunk?: Buffer }>(
  requests: AsyncIterable<Req>,
  optionsOf: (first: Req) => TableOptions | undefined,
  dataRoot?: DataRoot,
  store?: StoredValues,
): Promise<{ call: TableCall; first: Req }> {
  const iterator = requests[Symbol.asyncIterator]();
  const head = await iterator.next();
  const options = head.done ? undefined : optionsOf(head.value);
  if (head.done || !options)
    throw invalidArgument("the first message of a table stream must carry its options");
  const fileName = options.fileName || "(unnamed)";
  let read: ReadOptions;
  try {
    read = readOptionsFrom({
      delimiter: options.delimiter || ";",
      decimal: options.decimal || ".",
      header: options.header,
      startsFile: !options.continuesFile,
    });
  } catch (error) {
    throw invalidArgument(`${fileName}: ${(error as Error).message}`);
  }
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      if (next.value.chunk === undefined) throw invalidArgument("only the first message may carry options");
      yield next.value.chunk;
    }
  }
  if (options.remotePath && options.tableHandle) {
    throw invalidArgument("a table is a remote path or a stored value, not both");
  }
  const pieces = options.remotePath ? await remotePieces(options, iterator, dataRoot) : undefined;
  const stored = options.tableHandle ? await storedChunks(options.tableHandle, iterator, store) : undefined;
  return {
    call: {
      fileName,
      read,
      firstLine: options.firstLine || 1,
      expectedColumns: options.expectedColumns,
      chunks: stored ?? (pieces ? noBytes() : chunks()),
      pieces,
    },
    first: head.value,
  };
}

/** A table merged from its pieces, with what the reply says of how it was computed. */
export interface MergedTable {
  merger: TableMerger;
  bytes: number;
  /** Worker thread that ran the last piece. */
  threadId: number;
}

/** The pieces of a file the server has, in [rangeStart, rangeEnd), read as they are needed. */
async function remotePieces<Req>(
  options: TableOptions,
  iterator: AsyncIterator<Req>,
  dataRoot: DataRoot | undefined,
): Promise<TableCall["pieces"]> {
  if (!dataRoot) {
    throw new ServerError(
      status.FAILED_PRECONDITION,
      "this server serves no files: start it with --data-root DIR",
    );
  }
  const path = await dataRoot.resolve(options.remotePath);
  if (!(await iterator.next()).done)
    throw invalidArgument("a call that names a remote file must not send bytes");
  if (options.rangeEnd > 0 && options.rangeEnd < options.rangeStart)
    throw invalidArgument("range_end is before range_start");
  return async function* (limits, memory) {
    const handle = await open(path, "r");
    try {
      const size = (await handle.stat()).size;
      const end = options.rangeEnd > 0 ? Math.min(options.rangeEnd, size) : size;
      const start = Math.min(options.rangeStart, end);
      if (end - start > limits.maxTableBytes) {
        throw new ServerError(
          status.RESOURCE_EXHAUSTED,
          `${options.remotePath}: the table is larger than this server's cap of ${limits.maxTableBytes} bytes per call`,
        );
      }
      yield* readPieces(handle, start, end, limits.pieceBytes, limits.maxLineBytes, memory);
    } finally {
      await handle.close();
    }
  };
}

/** A stored table's bytes, as views of 256 KiB: cut into pieces (copied) as a stream's chunks are. */
async function storedChunks<Req>(
  handle: string,
  iterator: AsyncIterator<Req>,
  store: StoredValues | undefined,
): Promise<AsyncIterable<Uint8Array>> {
  if (!store) throw new ServerError(status.FAILED_PRECONDITION, "this server keeps no values");
  if (!(await iterator.next()).done)
    throw invalidArgument("a call that names a stored table must not send bytes");
  const bytes = store.get(handle);
  const step = 256 << 10;
  return (async function* () {
    for (let at = 0; at < bytes.byteLength; at += step) yield bytes.subarray(at, at + step);
  })();
}

/** Column sums of one table stream: pieces run on all workers at once and merge in order. */
export async function sumTable(
  call: TableCall,
  work: TableWork,
  signal: AbortSignal,
  limits: TableLimits = defaultTableLimits,
): Promise<MergedTable> {
  const merger = new TableMerger(call.firstLine, call.expectedColumns);
  const abort = linkedController(signal);
  const pending: Array<Promise<ReturnType<typeof sumPiece>>> = [];
  let read = { ...call.read };
  let bytesRead = 0;
  let threadId = 0;
  try {
    const mergeOldest = async () => {
      const piece = await pending.shift()!;
      threadId = piece.threadId;
      merger.addSum(piece);
      throwIfRefused(merger, call.fileName);
    };
    for await (const bytes of piecesOf(call, limits, {
      take: (size) => work.pieces.take(size, abort.signal),
      give: (piece) => work.pieces.give(piece),
    })) {
      bytesRead += bytes.byteLength;
      const task = work.run<ReturnType<typeof sumPiece>>(tableWorker, "sumPiece", [bytes, read], {
        signal: abort.signal,
        transfer: transferable(bytes),
      });
      // The piece's slot is free again once its worker is done with it, whatever the outcome.
      task.then(
        () => work.pieces.give(bytes),
        () => work.pieces.give(bytes),
      );
      pending.push(task);
      // Only the first piece of a file holds its BOM and header.
      read = { ...read, startsFile: false, header: false };
      // Two pieces per worker thread: each worker has its next piece queued while the event loop
      // is busy receiving, and memory stays bounded by pieces, not by the table's size.
      if (pending.length >= work.threads * 2) await mergeOldest();
    }
    while (pending.length > 0) await mergeOldest();
    return { merger, bytes: bytesRead, threadId };
  } finally {
    abort.abort();
  }
}

/** Weighted sums of one table stream: pieces run in order, each knowing where its weights start. */
export async function weighTable(
  call: TableCall,
  weights: Float64Array,
  work: TableWork,
  signal: AbortSignal,
  limits: TableLimits = defaultTableLimits,
): Promise<MergedTable> {
  const merger = new TableMerger(call.firstLine, call.expectedColumns);
  let read = { ...call.read };
  let bytesRead = 0;
  let threadId = 0;
  for await (const bytes of piecesOf(call, limits, {
    take: (size) => work.pieces.take(size, signal),
    give: (piece) => work.pieces.give(piece),
  })) {
    // A piece of n bytes holds at most n/2 + 1 rows: send only the weights it can use.
    const mine = weights.slice(merger.rows, merger.rows + Math.ceil(bytes.byteLength / 2) + 1);
    // Counted before the piece may be moved to its worker (a moved buffer reads as empty here).
    bytesRead += bytes.byteLength;
    const piece = await work
      .run<ReturnType<typeof weighPiece>>(tableWorker, "weighPiece", [bytes, read, mine, 0], {
        signal,
        transfer: transferable(bytes),
      })
      .finally(() => work.pieces.give(bytes));
    threadId = piece.threadId;
    merger.addWeighted(piece);
    throwIfRefused(merger, call.fileName);
    read = { ...read, startsFile: false, header: false };
  }
  return { merger, bytes: bytesRead, threadId };
}

function throwIfRefused(merger: TableMerger, fileName: string): void {
  const error = merger.error();
  if (!error) return;
  throw invalidArgument(`${fileName}: line ${error.line}, column ${error.column}: ${error.message}`, {
    reason: "MALFORMED_TABLE",
    fields: { file: fileName, line: String(error.line), column: String(error.column) },
  });
}

/**
 * A piece's memory to move to the worker rather than copy: only a buffer that owns its whole
 * ArrayBuffer (Node's small Buffers share a pool). Shared memory (the piece slots) is neither moved
 * nor copied: the worker reads it where it is.
 */
function transferable(bytes: Uint8Array): ArrayBuffer[] | undefined {
  const owns =
    !(bytes.buffer instanceof SharedArrayBuffer) &&
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.byteLength > 4096;
  return owns ? [bytes.buffer as ArrayBuffer] : undefined;
}

function linkedController(signal: AbortSignal): AbortController {
  const controller = new AbortController();
  if (signal.aborted) controller.abort(signal.reason);
  else signal.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
  return controller;
}
