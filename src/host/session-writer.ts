import type { ServerDuplexStream } from "@grpc/grpc-js";
import type { OpenRequest, OpenResponse } from "../gen/rpcpool/pool/v1/session.js";
import { frameBytes } from "../rpc/session-peer.js";

/**
 * Writes a session's frames to its stream with backpressure (issue 17). Each frame's bytes count
 * until the connection has taken them; a client that stops reading leaves them queued in the
 * server, since HTTP/2 flow control holds them. Past `maxUnsentBytes` the session stops reading the
 * client's frames, so no new calls start and no new replies pile up, until half have gone. The
 * client's own flow control then holds its frames back in the client. rpcpool's client always
 * reads its side, so the two never wait on each other.
 */
export class SessionWriter {
  readonly #call: ServerDuplexStream<OpenRequest, OpenResponse>;
  readonly #maxUnsentBytes: number;
  #unsent = 0;
  #paused = false;
  #closed = false;

  constructor(call: ServerDuplexStream<OpenRequest, OpenResponse>, maxUnsentBytes: number) {
    this.#call = call;
    this.#maxUnsentBytes = maxUnsentBytes;
  }

  write(frame: OpenResponse): void {
    if (this.#closed) return;
    const bytes = frameBytes(frame);
    this.#unsent += bytes;
    this.#call.write(frame, () => {
      this.#unsent -= bytes;
      if (this.#paused && this.#unsent <= this.#maxUnsentBytes / 2) {
        this.#paused = false;
        if (!this.#closed) this.#call.resume();
      }
    });
    if (!this.#paused && this.#unsent > this.#maxUnsentBytes) {
      this.#paused = true;
      this.#call.pause();
    }
  }

  /** Writes nothing more (the session ended). */
  close(): void {
    this.#closed = true;
  }
}
