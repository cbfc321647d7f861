import { type ClientHttp2Stream, constants, type IncomingHttpHeaders } from "node:http2";
import { ClientError } from "./client-error.js";
import { Status, statusOfHttp } from "./grpc-status.js";
import type { MethodSpec } from "./method-spec.js";

/** Messages waiting for the reader, at most this many before the stream is paused. */
const highWater = 16;

/**
 * One gRPC call on an HTTP/2 stream, from the client's side: writes length-prefixed messages,
 * reads the replies as they come (pausing the stream while the reader lags), and ends with the
 * status of the trailers, or with a deadline, a cancellation or a broken connection, always as
 * one ClientError. Every call kind is built on it (see http2-transport.ts).
 */
export class GrpcStream<Req, Res> {
  readonly #queue: Res[] = [];
  #buffered: Buffer[] = [];
  #bufferedBytes = 0;
  #headers: IncomingHttpHeaders | undefined;
  #outcome: { error?: ClientError } | undefined;
  #streamError = "";
  #wake: (() => void) | undefined;
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #onAbort: (() => void) | undefined;
  /** Told once, when the call has ended (to count open calls). */
  onEnd: (() => void) | undefined;

  constructor(
    readonly stream: ClientHttp2Stream,
    readonly method: MethodSpec<Req, Res>,
    readonly options: {
      server: string;
      deadline: number;
      signal?: AbortSignal;
      maxReceiveBytes: number;
      onWritten?: (request: unknown) => void;
      /** Why the connection failed, when it did: said when the stream ends for that reason. */
      connectionFailure: () => string;
    },
  ) {
    const { signal } = options;
    if (signal) {
      this.#onAbort = () => this.fail(ClientError.fromAbort(signal, options.server));
      signal.addEventListener("abort", this.#onAbort, { once: true });
    }
    const remaining = options.deadline - Date.now();
    if (Number.isFinite(remaining)) {
      this.#timer = setTimeout(
        () =>
          this.fail(
            new ClientError(Status.DEADLINE_EXCEEDED, "deadline exceeded", { server: options.server }),
          ),
        Math.max(0, Math.min(remaining, 2 ** 31 - 1)),
      );
    }
    stream.on("response", (headers) => this.#onHeaders(headers));
    stream.on("data", (chunk: Buffer) => this.#onData(chunk));
    stream.on("trailers", (trailers) => this.#onStatus(trailers));
    // A session that fails (refused, TLS) destroys its streams with its own error, which may come
    // before the session's "error" event: kept, so the call says why it failed.
    stream.on("error", (error) => {
      // Node wraps it: "The pending stream has been canceled (caused by: ...)"; the cause says why.
      const cause = (error as { cause?: unknown }).cause;
      this.#streamError ||= cause instanceof Error ? cause.message : error.message;
    });
    stream.on("close", () => this.#onClose());
  }

  get ended(): boolean {
    return this.#outcome !== undefined;
  }

  /**
   * Writes one message; false when the stream asks to wait for "drain". A method may give its
   * message in parts (a small head and the bulk), written one after the other, never copied.
   */
  write(request: Req): boolean {
    const parts = this.method.requestSerializeParts?.(request) ?? [this.method.requestSerialize(request)];
    let length = 0;
    for (const part of parts) length += part.byteLength;
    const prefix = Buffer.allocUnsafe(5);
    prefix[0] = 0;
    prefix.writeUInt32BE(length, 1);
    this.stream.write(prefix);
    let ok = true;
    const onWritten = this.options.onWritten;
    for (let i = 0; i < parts.length; i++) {
      const last = i === parts.length - 1;
      ok = this.stream.write(parts[i]!, last && onWritten ? () => onWritten(request) : undefined);
    }
    return ok;
  }

  /** Resolves when the stream may take more (or the call has ended). */
  drained(): Promise<void> {
    if (this.ended || !this.stream.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const go = () => {
        this.stream.off("drain", go);
        this.stream.off("close", go);
        resolve();
      };
      this.stream.on("drain", go);
      this.stream.on("close", go);
    });
  }

  /** No more requests. */
  end(): void {
    if (!this.ended && !this.stream.writableEnded) this.stream.end();
  }

  /** Ends the call with this error (a cancellation, a deadline, a failed source); the server is told. */
  fail(error: ClientError): void {
    if (this.#settle({ error }) && !this.stream.closed) this.stream.close(constants.NGHTTP2_CANCEL);
  }

  /** The one reply of a unary or client-streaming call. */
  async single(): Promise<Res> {
    const replies: Res[] = [];
    for await (const reply of this.replies()) replies.push(reply);
    if (replies.length !== 1) {
      throw new ClientError(
        Status.INTERNAL,
        `${this.options.server} sent ${replies.length} replies to a call that takes one`,
        { server: this.options.server },
      );
    }
    return replies[0]!;
  }

  /** The replies as they come; the loop ends with the call's status (an error throws). */
  async *replies(): AsyncGenerator<Res> {
    try {
      for (;;) {
        while (this.#queue.length > 0) {
          const reply = this.#queue.shift()!;
          if (this.#queue.length < highWater / 2 && this.stream.isPaused()) this.stream.resume();
          yield reply;
        }
        if (this.#outcome) {
          if (this.#outcome.error) throw this.#outcome.error;
          return;
        }
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
      }
    } finally {
      // A reader that leaves early cancels the call.
      if (!this.#outcome)
        this.fail(
          new ClientError(Status.CANCELLED, "the caller stopped reading", { server: this.options.server }),
        );
    }
  }

  #settle(outcome: { error?: ClientError }): boolean {
    if (this.#outcome) return false;
    // The failure says which call it ended and whether its request may have reached the server
    // (a stream never opened, or refused, never ran there): the pool decides on retries by it.
    const sent = !this.stream.pending && this.stream.rstCode !== constants.NGHTTP2_REFUSED_STREAM;
    const { path, idempotency = "UNKNOWN" } = this.method;
    this.#outcome = outcome.error
      ? { error: outcome.error.of({ method: path, idempotency, sent }) }
      : outcome;
    clearTimeout(this.#timer);
    if (this.#onAbort) this.options.signal?.removeEventListener("abort", this.#onAbort);
    this.onEnd?.();
    this.#wake?.();
    return true;
  }

  #failWith(code: number, details: string, trailers: IncomingHttpHeaders = {}): void {
    this.fail(ClientError.fromTrailers(code, details, trailers, this.options.server));
  }

  #onHeaders(headers: IncomingHttpHeaders): void {
    this.#headers = headers;
    const http = Number(headers[constants.HTTP2_HEADER_STATUS]);
    if (http !== 200) {
      const code = headers["grpc-status"] !== undefined ? Number(headers["grpc-status"]) : statusOfHttp(http);
      this.#failWith(code, `HTTP status ${http}`, headers);
    } else if (headers["grpc-status"] !== undefined) {
      // A trailers-only reply: the status comes with the headers.
      this.#onStatus(headers);
    }
  }

  #onData(chunk: Buffer): void {
    if (this.#outcome) return;
    this.#buffered.push(chunk);
    this.#bufferedBytes += chunk.byteLength;
    while (this.#bufferedBytes >= 5) {
      const head = this.#buffered.length === 1 ? this.#buffered[0]! : Buffer.concat(this.#buffered);
      this.#buffered = [head];
      const length = head.readUInt32BE(1);
      if (head[0] !== 0) {
        this.#failWith(Status.INTERNAL, "the server sent a compressed message unasked");
        return;
      }
      if (length > this.options.maxReceiveBytes) {
        this.#failWith(
          Status.RESOURCE_EXHAUSTED,
          `a reply of ${length} bytes exceeds the limit of ${this.options.maxReceiveBytes}`,
        );
        return;
      }
      if (this.#bufferedBytes < 5 + length) return;
      try {
        this.#queue.push(this.method.responseDeserialize(head.subarray(5, 5 + length)));
      } catch (error) {
        this.#failWith(
          Status.INTERNAL,
          `the server's reply could not be decoded: ${(error as Error).message}`,
        );
        return;
      }
      this.#buffered = this.#bufferedBytes > 5 + length ? [head.subarray(5 + length)] : [];
      this.#bufferedBytes -= 5 + length;
      if (this.#queue.length >= highWater) this.stream.pause();
      this.#wake?.();
    }
  }

  #onStatus(trailers: IncomingHttpHeaders): void {
    // The call is over once the status came: a side still open for writing is closed, so that
    // the stream (and a server draining for it) is not kept waiting.
    if (!this.stream.writableEnded && !this.stream.closed) this.stream.close(constants.NGHTTP2_NO_ERROR);
    const code = Number(trailers["grpc-status"]);
    if (code === Status.OK) {
      this.#settle({});
      return;
    }
    let details = String(trailers["grpc-message"] ?? "");
    try {
      details = decodeURIComponent(details);
    } catch {
      // Not percent-encoded after all: keep the text as it came.
    }
    this.#settle({ error: ClientError.fromTrailers(code, details, trailers, this.options.server) });
  }

  #onClose(): void {
    if (this.#outcome) return;
    const code = this.stream.rstCode;
    const fail = (status: number, details: string) => this.#failWith(status, details);
    if (code === constants.NGHTTP2_REFUSED_STREAM) fail(Status.UNAVAILABLE, "the server refused the stream");
    else if (code === constants.NGHTTP2_CANCEL) fail(Status.CANCELLED, "the call was cancelled");
    else if (code === constants.NGHTTP2_ENHANCE_YOUR_CALM)
      fail(Status.RESOURCE_EXHAUSTED, "the server asked to calm down");
    else if (code === constants.NGHTTP2_INADEQUATE_SECURITY)
      fail(Status.PERMISSION_DENIED, "inadequate security");
    else if (this.#headers === undefined) {
      fail(
        Status.UNAVAILABLE,
        this.options.connectionFailure() || this.#streamError || "the connection to the server ended",
      );
    } else fail(Status.UNAVAILABLE, "the stream ended without a status");
  }
}
