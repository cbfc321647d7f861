/**
 * Memory for table pieces on their way to the worker threads, shared with them and reused.
 *
 * A piece copied into a fresh buffer for every megabyte received would leave the collector of
 * each thread a trail of dead megabytes, and a server's memory would follow the collector's
 * pace rather than the pieces in flight. Slots are SharedArrayBuffers: a worker reads the piece
 * where it is (nothing is copied or moved to it), and a slot is reused once its piece is parsed.
 */
export class PieceSlots {
  readonly #free: SharedArrayBuffer[] = [];

  /**
   * @param slotBytes capacity of a slot; a larger piece gets a buffer of its own
   * @param keep slots kept for reuse when idle; more may be lent while many calls run at once
   */
  constructor(
    readonly slotBytes: number,
    readonly keep: number,
  ) {}

  /** A view of `bytes` bytes to fill, from a free slot when it fits. */
  take(bytes: number): Uint8Array {
    if (bytes > this.slotBytes) return Buffer.allocUnsafeSlow(bytes);
    const slot = this.#free.pop() ?? new SharedArrayBuffer(this.slotBytes);
    return new Uint8Array(slot, 0, bytes);
  }

  /** Returns a view's slot once nothing reads it any more. */
  give(view: Uint8Array): void {
    if (view.buffer instanceof SharedArrayBuffer && this.#free.length < this.keep)
      this.#free.push(view.buffer);
  }
}
