import { type ClientHttp2Stream, constants, type IncomingHttpHeaders } from "node:http2";
import { createRequire } from "node:module";
import { ClientError } from "../../rpc/client-error.js";
import { Status, statusOfHttp } from "../../rpc/grpc-status.js";
import type { MethodSpec } from "../../rpc/method-spec.js";
import { deadlineTimer } from "./deadline-timer.js";
import { type Frame, MessageFramer } from "./message-framer.js";
import type { ReceivedMetadata } from "./transport.js";

/** Messages waiting for the reader, at most this many before the stream is paused. */
const highWater = 16;

export interface GrpcStreamOptions {
  server: string;
  deadline: number;
  signal?: AbortSignal;
  maxReceiveBytes: number;
  /** A unary or client-streaming call: a second reply fails the call at once (as grpc-js does). */
  singleReply?: boolean;
  onWritten?: (request: unknown) => void;
  onHeaders?: (metadata: ReceivedMetadata) => void;
  onTrailers?: (metadata: ReceivedMetadata) => void;
  /** Why this stream's session failed, when it did: said when the stream ends for that reason. */
  connectionFailure: () => string;
}

/**
 * One gRPC call on an HTTP/2 stream, from the client's side: writes length-prefixed messages,
 * reads the replies as they come (pausing the stream while the reader lags), and ends with the
 * status of the trailers, or with a deadline, a cancellation or a broken connection, always as
 * one ClientError. Every call kind is built on it (see http2-transport.ts).
 *
 * The status is the call's end only once every reply has been read from the stream: trailers
 * arrive while replies may still wait in Node's buffer of a paused stream (a slow reader), so an
 * OK status is held until the readable side has ended, as grpc-js holds it.
 */
export class GrpcStream<Req, Res> {
  readonly #queue: Res[] = [];
  readonly #framer: MessageFramer;
  #received = 0;
  #headers: IncomingHttpHeaders | undefined;
  /** The status the server sent, waiting for the last reply to be read. */
  #status: { error?: ClientError } | undefined;
  #outcome: { error?: ClientError } | undefined;
  #streamError = "";
  #wake: (() => void) | undefined;
  readonly #cancelTimer: () => void;
  readonly #onAbort: (() => void) | undefined;
  /** The stream's session (Node forgets it when the stream closes). */
  readonly #session: ClientHttp2Stream["session"];
  /** Told once, when the call has ended (to count open calls). */
  onEnd: (() => void) | undefined;

  constructor(
    readonly stream: ClientHttp2Stream,
    readonly method: MethodSpec<Req, Res>,
    readonly options: GrpcStreamOptions,
  ) {
    this.#framer = new MessageFramer(options.maxReceiveBytes);
    this.#session = stream.session;
    const { signal } = options;
    if (signal) {
      this.#onAbort = () => this.fail(ClientError.fromAbort(signal, options.server));
      signal.addEventListener("abort", this.#onAbort, { once: true });
    }
    this.#cancelTimer = deadlineTimer(options.deadline, () =>
      this.fail(new ClientError(Status.DEADLINE_EXCEEDED, "deadline exceeded", { server: options.server })),
    );
    stream.on("response", (headers) => this.#onHeaders(headers));
    stream.on("data", (chunk: Buffer) => this.#onData(chunk));
    stream.on("trailers", (trailers) => this.#onStatus(trailers));
    stream.on("end", () => this.#onEnd());
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

  /** The one reply of a unary or client-streaming call (a second one failed the call already). */
  async single(): Promise<Res> {
    let reply: { value: Res } | undefined;
    for await (const value of this.replies()) reply = { value };
    if (!reply) {
      throw new ClientError(Status.UNIMPLEMENTED, "the server sent no reply to a call that takes one", {
        server: this.options.server,
      });
    }
    return reply.value;
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
    this.#cancelTimer();
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
    const grpcStatus = headers["grpc-status"];
    if (http !== 200) {
      // Not a gRPC reply (a proxy's, a web server's): gRPC's HTTP-to-status table, and the
      // server's own words when it sent some.
      const code = grpcStatus !== undefined ? statusOf(grpcStatus) : statusOfHttp(http);
      const message = messageOf(headers);
      this.#failWith(code, message ? `HTTP status ${http}: ${message}` : `HTTP status ${http}`, headers);
      return;
    }
    const type = String(headers[constants.HTTP2_HEADER_CONTENT_TYPE] ?? "");
    if (!/^application\/grpc([+;]|$)/.test(type)) {
      this.#failWith(
        Status.UNKNOWN,
        `the server replied with content-type "${type || "(none)"}", not a gRPC reply`,
        headers,
      );
      return;
    }
    if (grpcStatus !== undefined) {
      // A trailers-only reply: the status comes with the headers.
      this.#onStatus(headers);
      return;
    }
    this.options.onHeaders?.(metadataOf(headers));
  }

  #onData(chunk: Buffer): void {
    if (this.#outcome) return;
    let messages: Frame[];
    try {
      messages = this.#framer.push(chunk);
    } catch (error) {
      this.#failWith(Status.RESOURCE_EXHAUSTED, (error as Error).message);
      return;
    }
    for (const frame of messages) {
      if (this.options.singleReply && ++this.#received > 1) {
        this.#failWith(Status.UNIMPLEMENTED, "the server sent more than one reply to a call that takes one");
        return;
      }
      let bytes = frame.bytes;
      if (frame.compressed) {
        const inflated = this.#decompress(bytes);
        if (!inflated) return;
        bytes = inflated;
      }
      try {
        this.#queue.push(this.method.responseDeserialize(bytes));
      } catch (error) {
        this.#failWith(
          Status.INTERNAL,
          `the server's reply could not be decoded: ${(error as Error).message}`,
        );
        return;
      }
    }
    if (this.#queue.length >= highWater) this.stream.pause();
    if (messages.length > 0) this.#wake?.();
  }

  /**
   * A compressed reply: the client asks for none (grpc-accept-encoding: identity) and compresses
   * nothing, but some servers (C-core's, asked per call) compress regardless; gzip and deflate are
   * read, within the size limit. Any other encoding fails the call as INTERNAL.
   */
  #decompress(bytes: Buffer): Buffer | undefined {
    const encoding = String(this.#headers?.["grpc-encoding"] ?? "identity");
    const options = { maxOutputLength: this.options.maxReceiveBytes };
    try {
      // zlib is taken only here, for the rare compressed reply: not loaded at every start-up.
      const zlib = (): typeof import("node:zlib") => createRequire(import.meta.url)("node:zlib");
      if (encoding === "gzip") return zlib().gunzipSync(bytes, options);
      if (encoding === "deflate") return zlib().inflateSync(bytes, options);
    } catch (error) {
      const tooLarge = (error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE";
      this.#failWith(
        tooLarge ? Status.RESOURCE_EXHAUSTED : Status.INTERNAL,
        tooLarge
          ? `a decompressed reply exceeds the limit of ${this.options.maxReceiveBytes} bytes`
          : `the server's ${encoding} reply could not be decompressed: ${(error as Error).message}`,
      );
      return undefined;
    }
    this.#failWith(
      Status.INTERNAL,
      `the server sent a message compressed with "${encoding}", which this client does not read (it asks for identity)`,
    );
    return undefined;
  }

  #onStatus(trailers: IncomingHttpHeaders): void {
    if (this.#outcome || this.#status) return;
    const code = trailers["grpc-status"] === undefined ? undefined : statusOf(trailers["grpc-status"]);
    if (code === Status.OK) this.#status = {};
    else {
      const details = messageOf(trailers);
      this.#status = {
        error: ClientError.fromTrailers(
          code ?? Status.UNKNOWN,
          code === undefined
            ? `the server's trailers carry no grpc-status${details ? `: ${details}` : ""}`
            : details,
          trailers,
          this.options.server,
        ),
      };
    }
    this.options.onTrailers?.(metadataOf(trailers));
    // Every reply before the status is read first: it ends the call once the stream has ended.
    if (this.stream.readableEnded) this.#onEnd();
  }

  /** The readable side ended: every reply has been read, so the status (if it came) ends the call. */
  #onEnd(): void {
    if (this.#outcome || !this.#status) return;
    if (this.#status.error === undefined && !this.#framer.idle) {
      this.#failWith(Status.INTERNAL, "the stream ended inside a message");
      return;
    }
    this.#settle(this.#status);
    // The call is over: a side still open for writing is closed, so that the stream (and a
    // server draining for it) is not kept waiting.
    if (!this.stream.writableEnded && !this.stream.closed) this.stream.close(constants.NGHTTP2_NO_ERROR);
  }

  #onClose(): void {
    if (this.#outcome) return;
    if (this.#status) {
      this.#settle(this.#status);
      return;
    }
    const fail = (status: number, details: string) => this.#failWith(status, details);
    const session = this.#session;
    const connectionLost = !session || session.destroyed || session.closed;
    const code = this.stream.rstCode;
    // gRPC's mapping of RST_STREAM codes (doc/PROTOCOL-HTTP2.md); a stream taken down with its
    // connection is the connection's failure (UNAVAILABLE), whatever code Node gave it.
    if (code === constants.NGHTTP2_REFUSED_STREAM) fail(Status.UNAVAILABLE, "the server refused the stream");
    else if (code === constants.NGHTTP2_CANCEL && !connectionLost)
      fail(Status.CANCELLED, "the server cancelled the call");
    else if (code === constants.NGHTTP2_ENHANCE_YOUR_CALM)
      fail(Status.RESOURCE_EXHAUSTED, "the server asked to calm down (ENHANCE_YOUR_CALM)");
    else if (code === constants.NGHTTP2_INADEQUATE_SECURITY)
      fail(Status.PERMISSION_DENIED, "inadequate security");
    else if (
      connectionLost ||
      (this.#headers === undefined && (code === undefined || code === constants.NGHTTP2_NO_ERROR))
    ) {
      fail(
        Status.UNAVAILABLE,
        this.options.connectionFailure() || this.#streamError || "the connection to the server ended",
      );
    } else if (code !== undefined && code !== constants.NGHTTP2_NO_ERROR) {
      fail(Status.INTERNAL, `the server reset the stream (HTTP/2 error ${rstName(code)})`);
    } else fail(Status.INTERNAL, "the stream ended without a status");
  }
}

function statusOf(value: string | string[]): number {
  const code = Number(Array.isArray(value) ? value[0] : value);
  return Number.isInteger(code) && code >= 0 ? code : Status.UNKNOWN;
}

/** grpc-message, percent-decoded (as it travels); kept as it came when it is not. */
function messageOf(headers: IncomingHttpHeaders): string {
  const raw = headers["grpc-message"];
  const text = String((Array.isArray(raw) ? raw[0] : raw) ?? "");
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function metadataOf(headers: IncomingHttpHeaders): ReceivedMetadata {
  const metadata: Record<string, string | Buffer> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (key.startsWith(":") || value === undefined) continue;
    const text = Array.isArray(value) ? value.join(", ") : String(value);
    metadata[key] = key.endsWith("-bin") ? Buffer.from(text, "base64") : text;
  }
  return metadata;
}

const rstNames = new Map<number, string>(
  Object.entries(constants)
    .filter(([name]) => /^NGHTTP2_(?!ERR_)\w+_ERROR$/.test(name))
    .map(([name, code]) => [code as number, name.slice("NGHTTP2_".length)]),
);

function rstName(code: number): string {
  return rstNames.get(code) ?? String(code);
}
