import { Piscina } from "piscina";
import type { WorkerResult, WorkerTask } from "./worker-task.js";

/** The server's worker threads: computations run here so the event loop keeps answering. */
export class WorkerPool {
  readonly #piscina: Piscina;

  constructor(readonly threads: number) {
    this.#piscina = new Piscina({
      filename: new URL("./table-worker.js", import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      // Queue without bound here: callers bound their own in-flight pieces.
      maxQueue: Number.POSITIVE_INFINITY,
    });
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
function ownsWholeBuffer(bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.byteLength > 4096;
}
