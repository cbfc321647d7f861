/**
 * Memory for table pieces on their way to the worker threads: a fixed number of slots, shared
 * with the workers and reused, whatever the number of calls at once.
 *
 * A fresh buffer for every megabyte received would leave each thread's collector a trail of dead
 * megabytes, and a server's memory would follow the collector's pace. Slots are
 * SharedArrayBuffers: a worker reads the piece where it is (nothing is copied or moved), and the
 * slot serves the next piece once this one is parsed. When every slot is lent, a call waits for
 * one before it reads on, so HTTP/2 flow control holds its client back: the server's memory is
 * bounded by its slots and windows, not by how many clients stream at once.
 */
export class PieceSlots {
  readonly #free: SharedArrayBuffer[] = [];
  /** Memory lent to a piece by its own message (see lend): moved to the worker, not shared. */
  readonly #moved = new WeakSet<ArrayBufferLike>();
  readonly #waiting: Array<() => void> = [];
  #lent = 0;

  /**
   * @param slotBytes capacity of a slot; a larger piece (a very long line) gets a buffer of its own,
   *   still counted as a slot
   * @param count slots in all
   */
  constructor(
    readonly slotBytes: number,
    readonly count: number,
  ) {}

  /** A view of `bytes` bytes to fill, once a slot is free; rejects if the signal aborts first. */
  async take(bytes: number, signal?: AbortSignal): Promise<Uint8Array> {
    await this.#slot(signal);
    if (bytes > this.slotBytes) return Buffer.allocUnsafeSlow(bytes);
    const slot = this.#free.pop() ?? new SharedArrayBuffer(this.slotBytes);
    // A Buffer, not a plain Uint8Array: the cutters search every piece for a quote and its last
    // newline, and a plain Uint8Array over shared memory searches element by element (about
    // 1.5 GB/s: a third of a core at 420 MB/s) where Buffer's indexOf is memchr (70+ GB/s).
    return Buffer.from(slot, 0, bytes);
  }

  /**
   * Counts a slot for a piece that stays in the memory it arrived in (a received message that
   * owns its ArrayBuffer, see cutPieces), once one is free: copying it into a slot cost the event
   * loop more than receiving it. Its memory is moved to the worker (`movable`), and give() takes
   * the slot back as for any other piece, so the bound on pieces in flight is the same.
   */
  async lend(view: Uint8Array, signal?: AbortSignal): Promise<void> {
    await this.#slot(signal);
    this.#moved.add(view.buffer);
  }

  /** Whether `view` is a lent piece's own memory, which nothing else here reads: move it, do not copy it. */
  movable(view: Uint8Array): boolean {
    return this.#moved.has(view.buffer);
  }

  async #slot(signal?: AbortSignal): Promise<void> {
    while (this.#lent >= this.count) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const i = this.#waiting.indexOf(wake);
          if (i >= 0) this.#waiting.splice(i, 1);
          reject(signal!.reason);
        };
        const wake = () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        this.#waiting.push(wake);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    }
    this.#lent++;
  }

  /** Returns a view's slot once nothing reads it any more. */
  give(view: Uint8Array): void {
    if (view.buffer instanceof SharedArrayBuffer) this.#free.push(view.buffer);
    this.#lent--;
    this.#waiting.shift()?.();
  }

  /** Slots lent now (for tests and Info). */
  get lent(): number {
    return this.#lent;
  }
}
