import { Piscina } from "piscina";
import { PieceSlots } from "./piece-slots.js";
import type { WorkerResult, WorkerTask } from "./worker-task.js";

/** The server's worker threads: computations run here so the event loop keeps answering. */
export class WorkerPool {
  readonly #piscina: Piscina;
  /** Memory for table pieces in flight, shared with the workers (see table-call's pipeline). */
  readonly pieces: PieceSlots;

  /** pieceSlotBytes: a table piece is about 1 MiB plus the rest of the chunk it ended in. */
  constructor(
    readonly threads: number,
    pieceSlotBytes = 3 << 19,
  ) {
    this.#piscina = new Piscina({
      filename: new URL("./table-worker.js", import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      // Queue without bound here: callers bound their own in-flight pieces.
      maxQueue: Number.POSITIVE_INFINITY,
    });
    // Two pieces per thread keep one table call at full speed; twice that serves calls at once.
    this.pieces = new PieceSlots(pieceSlotBytes, threads * 4);
  }

  /** Runs a task; aborting the signal stops it (piscina ends the worker running it). */
  run<T extends WorkerTask>(task: T, signal?: AbortSignal): Promise<WorkerResult<T["kind"]>> {
    const transferList = "bytes" in task && ownsWholeBuffer(task.bytes) ? [task.bytes.buffer] : undefined;
    return this.#piscina.run(task, { signal, transferList: transferList as never });
  }

  async close(): Promise<void> {
    await this.#piscina.destroy();
  }
}

// Only a buffer that owns its whole ArrayBuffer may be moved: Node's small Buffers share a pool.
// Shared memory is neither moved nor copied: the worker reads it where it is.
function ownsWholeBuffer(bytes: Uint8Array): boolean {
  return (
    !(bytes.buffer instanceof SharedArrayBuffer) &&
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.byteLength > 4096
  );
}
