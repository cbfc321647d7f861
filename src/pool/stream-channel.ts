import { ClientError } from "../rpc/client-error.js";
import { Status as status } from "../rpc/grpc-status.js";

/**
 * A bounded hand-off of messages from one side to another: the writer's `push` waits while
 * `highWater` messages are unread, the reader iterates once. It carries a stream call's replies
 * from the attempt on a server to the caller (whichever server the attempt runs on), and a duplex
 * call's requests from the caller's `send` to the attempt.
 */
export class StreamChannel<T> implements AsyncIterable<T> {
  readonly #queue: T[] = [];
  #end: { error?: ClientError } | undefined;
  #readerWaits: (() => void) | undefined;
  #writerWaits: (() => void) | undefined;
  /** Messages pushed so far (a reply pushed has reached the caller's side). */
  pushed = 0;

  constructor(readonly highWater = 16) {}

  get ended(): boolean {
    return this.#end !== undefined;
  }

  /** Hands one message over; resolves once there is room for more (or the channel has ended). */
  async push(value: T): Promise<void> {
    if (this.#end) return;
    this.#queue.push(value);
    this.pushed++;
    this.#wakeReader();
    while (this.#queue.length >= this.highWater && !this.#end) {
      await new Promise<void>((resolve) => {
        this.#writerWaits = resolve;
      });
    }
  }

  /** No more messages: the reader ends after the queued ones, with `error` if given. */
  end(error?: ClientError): void {
    if (this.#end) return;
    this.#end = { error };
    this.#wakeReader();
    this.#wakeWriter();
  }

  /** The reader leaves: what is queued is dropped and a waiting writer goes on (to find it ended). */
  cancel(): void {
    this.end(new ClientError(status.CANCELLED, "the reader left"));
    this.#queue.length = 0;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      if (this.#queue.length > 0) {
        const value = this.#queue.shift()!;
        this.#wakeWriter();
        yield value;
        continue;
      }
      if (this.#end) {
        if (this.#end.error) throw this.#end.error;
        return;
      }
      await new Promise<void>((resolve) => {
        this.#readerWaits = resolve;
      });
    }
  }

  #wakeReader(): void {
    const wake = this.#readerWaits;
    this.#readerWaits = undefined;
    wake?.();
  }

  #wakeWriter(): void {
    const wake = this.#writerWaits;
    this.#writerWaits = undefined;
    wake?.();
  }
}
