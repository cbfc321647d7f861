import { status } from "@grpc/grpc-js";
import { chooseColumns } from "../../csv/column-selection.js";
import { type ReadOptions, readOptionsFrom, tableDialect } from "../../csv/read-options.js";
import type { TableOptions } from "../../gen/rpcpool/compute/v1/table.js";
import type { ServiceTools } from "../../host/hosted-service.js";
import { invalidArgument, ServerError } from "../../rpc/server-error.js";
import { noDataRoot } from "../../rpc/unable-here.js";
import { TableMerger } from "../compute/merge-pieces.js";
import { sameFile, snapshotOf } from "../file-snapshot.js";
import type { BudgetHolder, ByteBudget } from "./byte-budget.js";
import type { DataRoot } from "./data-root.js";
import { BufferBudgetSpent, cutPieces, LineTooLong, type PieceMemory, readPieces } from "./piece-cutter.js";
import type { PieceSlots } from "./piece-slots.js";
import { type sumPiece, tableWorker, type weighPiece } from "./table-worker.js";

/** What table calls use of the host: its worker threads, and the server's slots for pieces in flight. */
export interface TableWork {
  /** Worker threads: two pieces each are kept in flight. */
  threads: number;
  pieces: PieceSlots;
  /** The server-wide budget of bytes held outside the slots (--max-buffer-bytes), shared fairly. */
  buffered: ByteBudget;
  run: ServiceTools["runOnWorker"];
}

/** Tuning of table calls; defaults suit a 1 MiB piece parsed in a few milliseconds. */
export interface TableLimits {
  pieceBytes: number;
  /** Longest line (--max-line-bytes): its bytes are held until its newline comes. */
  maxLineBytes: number;
  /** Most bytes one table call may carry (or read from a remote file). */
  maxTableBytes: number;
  /** Widest row (--max-columns): each column costs an exact sum per piece in flight. */
  maxColumns: number;
  /** Bytes of unfinished lines all table calls of a server may hold at once (--max-buffer-bytes). */
  maxBufferBytes: number;
  /** How long a call may hold such bytes while its client sends none (--stall-timeout-ms). */
  stallTimeoutMs: number;
}

/** Defaults that keep a server within a 1 GiB pod whatever its clients send (docs/limits.md). */
export const defaultTableLimits: TableLimits = {
  pieceBytes: 1 << 20,
  maxLineBytes: 1 << 20,
  maxTableBytes: Number.POSITIVE_INFINITY,
  maxColumns: 10_000,
  maxBufferBytes: 256 << 20,
  stallTimeoutMs: 30_000,
};

/** Who a table call is for: its cancellation, and its client (the connection) for the budget's shares. */
export interface TableScope {
  signal: AbortSignal;
  /** The client's address and port, as grpc-js gives it: one connection. */
  peer: string;
}

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
  /** --columns as the client sent them (names or numbers), resolved at the first piece; none: all. */
  columns?: string[];
  firstLine: number;
  /** Width of the whole table, when the client split it and knows it; 0 otherwise. */
  expectedColumns: number;
  /** The bytes as the client sends them, to be cut into pieces. */
  chunks: AsyncIterable<Uint8Array>;
  /** Or, for a file of the server's own, its pieces read straight into their memory. */
  pieces?: (limits: TableLimits, memory: PieceMemory, budget: BudgetHolder) => AsyncIterable<Uint8Array>;
  /** Closes what the call holds open (a remote file), whether or not its pieces were read. */
  release?: () => Promise<void>;
}

async function* noBytes(): AsyncGenerator<Uint8Array> {}

/** A call's pieces: read straight from the server's file, or cut from the client's bytes. */
function piecesOf(
  call: TableCall,
  limits: TableLimits,
  memory: PieceMemory,
  budget: BudgetHolder,
): AsyncIterable<Uint8Array> {
  if (call.pieces) return call.pieces(limits, memory, budget);
  return cutPieces(
    capped(call.chunks, limits.maxTableBytes, call.fileName),
    limits.pieceBytes,
    limits.maxLineBytes,
    memory.take,
    budget,
    memory.lend,
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
  /** Checks the rest of the first message, before any file is opened. */
  check: (first: Req, fileName: string) => void = () => {},
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
    read = readOptionsFrom({ ...tableDialect(options), startsFile: !options.continuesFile });
  } catch (error) {
    throw invalidArgument(`${fileName}: ${(error as Error).message}`);
  }
  check(head.value, fileName);
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
  const remote = options.remotePath ? await remotePieces(options, iterator, dataRoot) : undefined;
  const stored = options.tableHandle ? await storedChunks(options.tableHandle, iterator, store) : undefined;
  return {
    call: {
      fileName,
      read,
      columns: options.columns,
      firstLine: options.firstLine || 1,
      expectedColumns: options.expectedColumns,
      chunks: stored ?? (remote ? noBytes() : chunks()),
      pieces: remote?.pieces,
      release: remote?.release,
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

/**
 * The pieces of a file the server has, in [rangeStart, rangeEnd), read as they are needed from
 * the descriptor opened (and checked) at once, before the client half-closes: what is done to the
 * path meanwhile cannot change which file is read. The descriptor is closed once its pieces are
 * read, or by `release` (the call's end, whatever its outcome).
 */
/** The refusal of a server's file that changed while a call read it, as the client says it of its own. */
function changed(path: string): ServerError {
  return new ServerError(status.ABORTED, `${path}: changed while being read`);
}

async function remotePieces<Req>(
  options: TableOptions,
  iterator: AsyncIterator<Req>,
  dataRoot: DataRoot | undefined,
): Promise<Required<Pick<TableCall, "pieces" | "release">>> {
  if (!dataRoot) {
    throw noDataRoot();
  }
  if (options.rangeEnd > 0 && options.rangeEnd < options.rangeStart)
    throw invalidArgument("range_end is before range_start");
  const handle = await dataRoot.open(options.remotePath);
  let closed: Promise<void> | undefined;
  const release = () => {
    closed ??= handle.close();
    return closed;
  };
  try {
    if (!(await iterator.next()).done)
      throw invalidArgument("a call that names a remote file must not send bytes");
  } catch (error) {
    await release();
    throw error;
  }
  const pieces = async function* (limits: TableLimits, memory: PieceMemory, budget: BudgetHolder) {
    try {
      const before = snapshotOf(await handle.stat());
      const size = before.size;
      const end = options.rangeEnd > 0 ? Math.min(options.rangeEnd, size) : size;
      const start = Math.min(options.rangeStart, end);
      if (end - start > limits.maxTableBytes) {
        throw new ServerError(
          status.RESOURCE_EXHAUSTED,
          `${options.remotePath}: the table is larger than this server's cap of ${limits.maxTableBytes} bytes per call`,
        );
      }
      try {
        yield* readPieces(handle, start, end, limits.pieceBytes, limits.maxLineBytes, memory, budget);
      } catch (error) {
        if (error instanceof ServerError && error.code === status.ABORTED) throw changed(options.remotePath);
        throw error;
      }
      // Written to while it was read (in place: the same descriptor sees it): its pieces may mix
      // old and new bytes, so the call is refused rather than answered.
      if (!sameFile(before, snapshotOf(await handle.stat()))) throw changed(options.remotePath);
    } finally {
      await release();
    }
  };
  return { pieces, release };
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

/**
 * Pieces per worker task for a file the server reads itself: between two tasks a worker waits
 * for the event loop to take its result and send the next (a millisecond or more on a busy
 * machine, against a few for a piece), so its pieces go two at a time. A client's stream keeps
 * one per task: its pieces come at the network's pace, and none should wait for a partner.
 */
const ownFilePiecesPerTask = 2;

type Summed = ReturnType<typeof sumPiece>;

/** Column sums of one table stream: pieces run on all workers at once and merge in order. */
export async function sumTable(
  call: TableCall,
  work: TableWork,
  scope: TableScope,
  limits: TableLimits = defaultTableLimits,
): Promise<MergedTable> {
  const abort = linkedController(scope.signal);
  const budget = work.buffered.holder(scope.peer);
  const pending: Array<Promise<Summed[]>> = [];
  const perTask = call.pieces ? ownFilePiecesPerTask : 1;
  // Pieces read but not yet sent, each with its read options (only a file's first holds its header).
  let group: Array<{ bytes: Uint8Array; read: ReadOptions }> = [];
  let read: ReadOptions = { ...call.read, maxColumns: limits.maxColumns };
  let bytesRead = 0;
  let threadId = 0;
  const send = () => {
    if (group.length === 0) return;
    const sent = group;
    group = [];
    const task =
      sent.length === 1
        ? work
            .run<Summed>(tableWorker, "sumPiece", [sent[0]!.bytes, sent[0]!.read], {
              signal: abort.signal,
              transfer: transferable(sent[0]!.bytes, work.pieces),
            })
            .then((piece) => [piece])
        : work.run<Summed[]>(tableWorker, "sumPieces", [sent.map((p) => p.bytes), sent.map((p) => p.read)], {
            signal: abort.signal,
            transfer: sent.flatMap((p) => transferable(p.bytes, work.pieces) ?? []),
          });
    // The pieces' slots are free again once their worker is done with them, whatever the outcome.
    const giveBack = () => {
      for (const p of sent) work.pieces.give(p.bytes);
    };
    task.then(giveBack, giveBack);
    pending.push(task);
  };
  try {
    const merger = new TableMerger(call.firstLine, checkedWidth(call, limits));
    const mergeOldest = async () => {
      for (const piece of await pending.shift()!) {
        threadId = piece.threadId;
        merger.addSum(piece);
        throwIfRefused(merger, call.fileName);
      }
    };
    const pieces = piecesOf(
      call,
      limits,
      {
        take: (size) => work.pieces.take(size, abort.signal),
        give: (piece) => work.pieces.give(piece),
        lend: (piece) => work.pieces.lend(piece, abort.signal),
      },
      budget,
    );
    for await (const bytes of refusingCuts(pieces, call, merger, async () => {
      // The pieces before a refused line are merged first: their own refusal comes first in the file.
      send();
      while (pending.length > 0) await mergeOldest();
    })) {
      if (bytesRead === 0) read = selecting(call, read, bytes, merger, () => work.pieces.give(bytes));
      bytesRead += bytes.byteLength;
      group.push({ bytes, read });
      // Only the first piece of a file holds its BOM and header.
      read = { ...read, startsFile: false, header: false };
      // A group waits for its next piece only while a slot is free: when every slot is lent (to
      // this call's groups and others'), waiting could hold slots that no task will give back.
      // A small piece (the joint of two messages, see cutPieces) goes with the next one: a task
      // of its own would cost a trip to a worker for a row.
      const small = group.length < 2 && bytes.byteLength < limits.pieceBytes / 2;
      if ((group.length >= perTask && !small) || work.pieces.lent >= work.pieces.count) send();
      // Two tasks per worker thread: each worker has its next piece queued while the event loop
      // is busy receiving, and memory stays bounded by pieces, not by the table's size.
      if (pending.length >= work.threads * 2) await mergeOldest();
    }
    send();
    while (pending.length > 0) await mergeOldest();
    return { merger, bytes: bytesRead, threadId };
  } finally {
    // Pieces read but never sent (the call was refused or cancelled) give their slots back here.
    for (const p of group) work.pieces.give(p.bytes);
    group = [];
    budget.close();
    abort.abort();
    await call.release?.();
  }
}

/** Weighted sums of one table stream: pieces run in order, each knowing where its weights start. */
export async function weighTable(
  call: TableCall,
  weights: Float64Array,
  work: TableWork,
  scope: TableScope,
  limits: TableLimits = defaultTableLimits,
): Promise<MergedTable> {
  const budget = work.buffered.holder(scope.peer);
  try {
    return await weighPieces(call, weights, work, scope.signal, budget, limits);
  } finally {
    budget.close();
    await call.release?.();
  }
}

async function weighPieces(
  call: TableCall,
  weights: Float64Array,
  work: TableWork,
  signal: AbortSignal,
  budget: BudgetHolder,
  limits: TableLimits,
): Promise<MergedTable> {
  const merger = new TableMerger(call.firstLine, checkedWidth(call, limits));
  let read: ReadOptions = { ...call.read, maxColumns: limits.maxColumns };
  let bytesRead = 0;
  let threadId = 0;
  const pieces = piecesOf(
    call,
    limits,
    {
      take: (size) => work.pieces.take(size, signal),
      give: (piece) => work.pieces.give(piece),
      lend: (piece) => work.pieces.lend(piece, signal),
    },
    budget,
  );
  for await (const bytes of refusingCuts(pieces, call, merger, async () => {})) {
    if (bytesRead === 0) read = selecting(call, read, bytes, merger, () => work.pieces.give(bytes));
    // A piece of n bytes holds at most n/2 + 1 rows: send only the weights it can use.
    const mine = weights.slice(merger.rows, merger.rows + Math.ceil(bytes.byteLength / 2) + 1);
    // Counted before the piece may be moved to its worker (a moved buffer reads as empty here).
    bytesRead += bytes.byteLength;
    const piece = await work
      .run<ReturnType<typeof weighPiece>>(tableWorker, "weighPiece", [bytes, read, mine, 0], {
        signal,
        transfer: transferable(bytes, work.pieces),
      })
      .finally(() => work.pieces.give(bytes));
    threadId = piece.threadId;
    merger.addWeighted(piece);
    throwIfRefused(merger, call.fileName);
    read = { ...read, startsFile: false, header: false };
  }
  return { merger, bytes: bytesRead, threadId };
}

/**
 * The read options with the call's --columns resolved, at its first piece (which holds the header,
 * if any, and is still here: pieces move to their worker); the merger learns the columns' names.
 * A refusal gives the piece's slot back (`giveBack`): no worker will.
 */
function selecting(
  call: TableCall,
  read: ReadOptions,
  first: Uint8Array,
  merger: TableMerger,
  giveBack: () => void,
): ReadOptions {
  if (!call.columns || call.columns.length === 0) return read;
  try {
    const choice = chooseColumns(call.columns, read, first);
    merger.selectedNames = choice.names;
    return { ...read, select: choice.select };
  } catch (error) {
    giveBack();
    throw invalidArgument(`${call.fileName}: --columns: ${(error as Error).message}`, {
      reason: "UNKNOWN_COLUMN",
      fields: { file: call.fileName, columns: call.columns.join(",") },
    });
  }
}

/** The width a part of a split table claims, refused beyond the server's cap. */
function checkedWidth(call: TableCall, limits: TableLimits): number {
  if (call.expectedColumns > limits.maxColumns) {
    throw invalidArgument(
      `${call.fileName}: ${call.expectedColumns} columns expected, more than this server's cap of ${limits.maxColumns} columns (--max-columns)`,
    );
  }
  return call.expectedColumns;
}

/**
 * The cutter's pieces, its refusals as statuses naming the file: a line too long with its number
 * (once the pieces before it are merged, `settle`), a spent buffer budget as RESOURCE_EXHAUSTED.
 */
async function* refusingCuts(
  pieces: AsyncIterable<Uint8Array>,
  call: TableCall,
  merger: TableMerger,
  settle: () => Promise<void>,
): AsyncGenerator<Uint8Array> {
  try {
    yield* pieces;
  } catch (error) {
    if (error instanceof LineTooLong) {
      await settle();
      const line = call.firstLine + merger.lines + error.heldLines;
      throw invalidArgument(`${call.fileName}: line ${line}: ${error.message}`, {
        reason: "LINE_TOO_LONG",
        fields: { file: call.fileName, line: String(line), cap: String(error.maxLine) },
      });
    }
    if (error instanceof BufferBudgetSpent)
      throw new ServerError(status.RESOURCE_EXHAUSTED, `${call.fileName}: ${error.message}`);
    throw error;
  }
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
 * nor copied: the worker reads it where it is. A piece the slots lent its own message's memory
 * (PieceSlots.lend) is moved whole, whatever its offset in it.
 */
function transferable(bytes: Uint8Array, slots: PieceSlots): ArrayBuffer[] | undefined {
  if (slots.movable(bytes)) return [bytes.buffer as ArrayBuffer];
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
