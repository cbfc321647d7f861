/**
 * A few read buffers, each used again once its bytes are on their way: a fresh megabyte per read
 * cost the client more CPU (the kernel maps and faults in new pages, then unmaps them) than the
 * read and the send together, about 3 ms per MB against 0.4. A reader waits for a buffer when all
 * are in flight, which is backpressure too; once closed, none is waited for.
 */
export class ReadBuffers {
  readonly #free: Buffer[] = [];
  readonly #lent = new Map<ArrayBufferLike, Buffer>();
  #waiting: Array<(buffer: Buffer) => void> = [];
  #made = 0;
  #closed = false;

  constructor(
    readonly size: number,
    // What a stream may have in flight (4 MiB), and one more being read.
    readonly most = Math.ceil((4 << 20) / size) + 1,
  ) {}

  async take(): Promise<Buffer> {
    let buffer = this.#free.pop();
    if (!buffer && (this.#made < this.most || this.#closed)) {
      this.#made++;
      buffer = Buffer.allocUnsafeSlow(this.size);
    }
    buffer ??= await new Promise<Buffer>((resolve) => this.#waiting.push(resolve));
    this.#lent.set(buffer.buffer, buffer);
    return buffer;
  }

  /** Gives back the buffer under `chunk` (a view of one this lent); other bytes are ignored. */
  give(chunk: Uint8Array | undefined): void {
    const buffer = chunk && this.#lent.get(chunk.buffer);
    if (!buffer) return;
    this.#lent.delete(chunk.buffer);
    const next = this.#waiting.shift();
    if (next) next(buffer);
    else this.#free.push(buffer);
  }

  /** No reader waits any more: a call that ended may not give its buffers back. */
  close(): void {
    this.#closed = true;
    for (const resolve of this.#waiting.splice(0)) resolve(Buffer.allocUnsafeSlow(this.size));
  }
}
