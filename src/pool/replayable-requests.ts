/**
 * The requests of a stream call that may move to another server: a call that fails before its
 * first reply runs again elsewhere and must send the same requests, though its source (a
 * generator, a duplex call's `send`) can be read only once. Requests read are kept until
 * `release` (a reply reached the caller, or the call may not run again), and each attempt reads
 * the kept ones first, then the rest of the source.
 *
 * One read of the source at a time, shared by position: an attempt that failed may still wait on
 * a read when the next one starts, and neither may take a request the other then never sends.
 */
export class ReplayableRequests<T> {
  readonly #source: AsyncIterator<T> | Iterator<T>;
  readonly #kept: T[] = [];
  /** Position of `#kept[0]` in the source (requests before it were released). */
  #base = 0;
  #keep: boolean;
  #reading: Promise<{ next: IteratorResult<T>; position: number }> | undefined;
  #done = false;

  /**
   * `keep`: whether to keep requests at all; `limit`: the most kept, past which they are released
   * (the call can then no longer move: memory stays bounded for a long one-shot source).
   */
  constructor(
    source: AsyncIterable<T> | Iterable<T>,
    keep: boolean,
    readonly limit = Number.POSITIVE_INFINITY,
  ) {
    this.#source =
      Symbol.asyncIterator in source
        ? (source as AsyncIterable<T>)[Symbol.asyncIterator]()
        : (source as Iterable<T>)[Symbol.iterator]();
    this.#keep = keep;
  }

  /** Whether every request read so far is kept (another attempt can send them all again). */
  get keeping(): boolean {
    return this.#keep;
  }

  /** No attempt will start again: kept requests are dropped and no more are kept. */
  release(): void {
    this.#keep = false;
    this.#base += this.#kept.length;
    this.#kept.length = 0;
  }

  /** The requests for one attempt: every kept one, then the rest of the source as it comes. */
  async *attempt(): AsyncGenerator<T> {
    let position = this.#base;
    for (;;) {
      // Released meanwhile: there is no attempt after this one, it goes on where the source is.
      if (position < this.#base) position = this.#base;
      const at = position - this.#base;
      if (at < this.#kept.length) {
        position++;
        yield this.#kept[at]!;
        continue;
      }
      if (this.#done) return;
      const { next, position: read } = await this.#read();
      if (next.done) return;
      position = read + 1;
      yield next.value;
    }
  }

  /** Ends the source early (the call is over and its requests are no longer wanted). */
  close(): void {
    if (this.#done) return;
    this.#done = true;
    void Promise.resolve(this.#source.return?.()).catch(() => {});
  }

  /** The next request of the source and its position, kept or counted; one read at a time, shared. */
  #read(): Promise<{ next: IteratorResult<T>; position: number }> {
    if (this.#reading) return this.#reading;
    const position = this.#base + this.#kept.length;
    this.#reading = new Promise<IteratorResult<T>>((resolve) => resolve(this.#source.next())).then(
      (next) => {
        this.#reading = undefined;
        if (next.done) this.#done = true;
        else if (this.#keep) {
          this.#kept.push(next.value);
          if (this.#kept.length > this.limit) this.release();
        } else this.#base++;
        return { next, position };
      },
      (error) => {
        this.#reading = undefined;
        this.#done = true;
        throw error;
      },
    );
    return this.#reading;
  }
}
