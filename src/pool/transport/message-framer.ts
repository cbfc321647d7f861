/** What a framer refuses: a message over the size limit. */
export class FrameError extends Error {}

/** One message's bytes, and whether the sender compressed them (the flag byte). */
export interface Frame {
  bytes: Buffer;
  compressed: boolean;
}

/**
 * Cuts gRPC's length-prefixed messages (a flag byte, a 4-byte length, the bytes) out of the
 * chunks of an HTTP/2 stream. Every byte is copied at most once: a message that spans chunks is
 * gathered and joined when its last byte has come, not re-joined on every chunk (joining on every
 * chunk made a 16 MiB reply take 20 s: quadratic).
 */
export class MessageFramer {
  /** The 5 header bytes of the message being read, as far as they came. */
  readonly #head = Buffer.alloc(5);
  #headBytes = 0;
  /** The body's length once the header is complete; -1 before. */
  #length = -1;
  #parts: Buffer[] = [];
  #partBytes = 0;
  /** Bytes copied to join messages that spanned chunks (tests check that it stays linear). */
  copiedBytes = 0;

  constructor(readonly maxMessageBytes: number) {}

  /** True between messages: no partial message is held. */
  get idle(): boolean {
    return this.#headBytes === 0;
  }

  /** The whole messages the chunk completes (their bytes, without the prefix). Throws a FrameError. */
  push(chunk: Buffer): Frame[] {
    const messages: Frame[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.#length < 0) {
        const take = Math.min(5 - this.#headBytes, chunk.length - at);
        chunk.copy(this.#head, this.#headBytes, at, at + take);
        this.#headBytes += take;
        at += take;
        if (this.#headBytes < 5) break;
        this.#length = this.#head.readUInt32BE(1);
        if (this.#length > this.maxMessageBytes) {
          throw new FrameError(
            `a reply of ${this.#length} bytes exceeds the limit of ${this.maxMessageBytes}`,
          );
        }
      }
      const take = Math.min(this.#length - this.#partBytes, chunk.length - at);
      if (take > 0) {
        this.#parts.push(chunk.subarray(at, at + take));
        this.#partBytes += take;
        at += take;
      }
      if (this.#partBytes < this.#length) break;
      const compressed = this.#head[0] !== 0;
      messages.push({ bytes: this.#join(), compressed });
    }
    return messages;
  }

  #join(): Buffer {
    const parts = this.#parts;
    let message: Buffer;
    if (parts.length === 1) message = parts[0]!;
    else {
      message = Buffer.concat(parts, this.#length);
      this.copiedBytes += this.#length;
    }
    this.#parts = [];
    this.#partBytes = 0;
    this.#headBytes = 0;
    this.#length = -1;
    return message;
  }
}
