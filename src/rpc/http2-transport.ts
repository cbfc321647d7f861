import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  constants,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type SecureClientSessionOptions,
} from "node:http2";
import { ClientError } from "./client-error.js";
import { Status, statusOfHttp } from "./grpc-status.js";
import type { MethodSpec } from "./method-spec.js";

/** Request metadata as headers: `-bin` keys take Buffers (sent base64), the others strings. */
export type CallMetadata = Record<string, string | Buffer>;

/** A call with everything decided: its deadline, the caller's signal, and the metadata to send. */
export interface ResolvedCall {
  /** Epoch milliseconds; Infinity for none. */
  deadline: number;
  signal?: AbortSignal;
  metadata: CallMetadata;
  /** Told when a request's bytes have been handed to the socket (a buffer may then be reused). */
  onWritten?: (request: unknown) => void;
}

export interface TransportOptions {
  /** TLS (server verification, and a client certificate for mutual TLS); plaintext when absent. */
  tls?: Pick<SecureClientSessionOptions, "ca" | "cert" | "key" | "servername">;
  /** Ping the server this often while calls are open (and expect the answer within the timeout). */
  keepaliveMs?: number;
  keepaliveTimeoutMs?: number;
  /** Largest reply message accepted. */
  maxReceiveBytes?: number;
}

/** Most bytes a received gRPC message may have by default, as grpc-js's default too. */
const defaultMaxReceive = 64 << 20;
const userAgent = "rpcpool-node";

/**
 * A gRPC client over node:http2, for one server: one HTTP/2 session, opened on first use and again
 * after it ends, carrying unary and client-streaming calls. It is what rpcpool's pool calls with:
 * grpc-js's client adds a copy of every message and a module load that dominates a small
 * program's start-up. The wire is gRPC's (length-prefixed messages, grpc-timeout, trailers with
 * grpc-status, grpc-message and grpc-status-details-bin), so any gRPC server answers it.
 */
export class Http2Transport {
  #session: ClientHttp2Session | undefined;
  #keepalive: NodeJS.Timeout | undefined;
  #closed = false;
  /** Calls open on the current session: while there are any, the session keeps the process alive. */
  #open = 0;
  /** Why the last session failed (e.g. "connect ECONNREFUSED ..."), for the calls it took down. */
  #lastFailure = "";

  constructor(
    readonly address: string,
    readonly options: TransportOptions = {},
  ) {}

  unary<Req, Res>(method: MethodSpec<Req, Res>, request: Req, call: ResolvedCall): Promise<Res> {
    return this.#call(method, call, (stream) => {
      writeMessage(stream, method, request, call);
      stream.end();
    });
  }

  /**
   * Streams requests with backpressure (waits for "drain"); the reply may come while requests are
   * still being written (the server refused early), and writing stops then. A failure of the
   * source cancels the call and is rethrown as it is.
   */
  clientStream<Req, Res>(
    method: MethodSpec<Req, Res>,
    requests: AsyncIterable<Req> | Iterable<Req>,
    call: ResolvedCall,
  ): Promise<Res> {
    let sourceError: { error: unknown } | undefined;
    const reply = this.#call(method, call, async (stream, ended) => {
      try {
        for await (const request of requests) {
          if (ended()) return;
          if (!writeMessage(stream, method, request, call)) {
            await new Promise<void>((resolve) => {
              const go = () => {
                stream.off("drain", go);
                stream.off("close", go);
                resolve();
              };
              stream.on("drain", go);
              stream.on("close", go);
            });
          }
        }
        if (!ended()) stream.end();
      } catch (error) {
        sourceError = { error };
        stream.close(constants.NGHTTP2_CANCEL);
      }
    });
    return reply.catch((error: unknown) => {
      throw sourceError ? sourceError.error : error;
    });
  }

  /** Ends the session; calls in flight fail with UNAVAILABLE. */
  close(): void {
    this.#closed = true;
    this.#dropSession(this.#session);
  }

  #call<Res>(
    // biome-ignore lint/suspicious/noExplicitAny: the request type does not matter here
    method: MethodSpec<any, Res>,
    call: ResolvedCall,
    send: (stream: ClientHttp2Stream, ended: () => boolean) => void | Promise<void>,
  ): Promise<Res> {
    const { signal } = call;
    if (signal?.aborted) return Promise.reject(ClientError.fromAbort(signal, this.address));
    if (this.#closed)
      return Promise.reject(
        new ClientError(Status.UNAVAILABLE, "the connection was closed", { server: this.address }),
      );
    return new Promise<Res>((resolve, reject) => {
      let stream: ClientHttp2Stream;
      let session: ClientHttp2Session;
      try {
        session = this.#session_();
        stream = session.request(this.#headers(method, call), { endStream: false });
      } catch (error) {
        reject(
          new ClientError(Status.UNAVAILABLE, (error as Error).message, {
            server: this.address,
            cause: error,
          }),
        );
        return;
      }
      if (this.#open++ === 0) session.ref();
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (error: ClientError | undefined, value?: Res) => {
        if (settled) return;
        settled = true;
        if (--this.#open === 0 && !session.destroyed) session.unref();
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if (error) {
          if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
          reject(error);
        } else resolve(value as Res);
      };
      const onAbort = () => finish(ClientError.fromAbort(signal!, this.address));
      signal?.addEventListener("abort", onAbort, { once: true });
      const remaining = call.deadline - Date.now();
      if (Number.isFinite(remaining)) {
        timer = setTimeout(
          () =>
            finish(new ClientError(Status.DEADLINE_EXCEEDED, "deadline exceeded", { server: this.address })),
          Math.max(0, Math.min(remaining, 2 ** 31 - 1)),
        );
      }
      readReply(
        stream,
        method,
        this.options.maxReceiveBytes ?? defaultMaxReceive,
        this.address,
        finish,
        () => this.#lastFailure,
      );
      const sent = send(stream, () => settled);
      if (sent) sent.catch(() => {});
    });
  }

  #headers(method: MethodSpec, call: ResolvedCall): OutgoingHttpHeaders {
    const headers: OutgoingHttpHeaders = {
      [constants.HTTP2_HEADER_METHOD]: "POST",
      [constants.HTTP2_HEADER_PATH]: method.path,
      [constants.HTTP2_HEADER_CONTENT_TYPE]: "application/grpc",
      [constants.HTTP2_HEADER_TE]: "trailers",
      [constants.HTTP2_HEADER_USER_AGENT]: userAgent,
      "grpc-accept-encoding": "identity",
    };
    const remaining = call.deadline - Date.now();
    if (Number.isFinite(remaining)) headers["grpc-timeout"] = timeoutHeader(remaining);
    for (const [key, value] of Object.entries(call.metadata)) {
      headers[key] = typeof value === "string" ? value : value.toString("base64");
    }
    return headers;
  }

  /** The open session, or a new one; a session that ends or fails is dropped for the next call. */
  #session_(): ClientHttp2Session {
    const current = this.#session;
    if (current && !current.closed && !current.destroyed) return current;
    const tls = this.options.tls;
    const session = connect(`${tls ? "https" : "http"}://${this.address}`, {
      ...tls,
      settings: { enablePush: false, initialWindowSize: 4 << 20 },
      // Our own bound on what a reply may carry; HTTP/2 frames stay within the server's settings.
      maxSessionMemory: 64,
    });
    session.on("error", (error) => {
      this.#lastFailure = error.message;
      this.#dropSession(session);
    });
    session.on("close", () => this.#dropSession(session));
    session.on("goaway", () => this.#dropSession(session, false));
    // An idle session must not keep the process alive; an open call does (its stream is ref'd).
    session.unref();
    this.#session = session;
    this.#startKeepalive(session);
    return session;
  }

  /** Pings while calls are open: a silent peer (a cut link) ends the session instead of hanging. */
  #startKeepalive(session: ClientHttp2Session): void {
    const every = this.options.keepaliveMs;
    if (!every) return;
    clearInterval(this.#keepalive);
    this.#keepalive = setInterval(() => {
      if (session.destroyed) return;
      const timeout = setTimeout(() => session.destroy(), this.options.keepaliveTimeoutMs ?? 20_000);
      timeout.unref();
      const sent = session.ping((error) => {
        clearTimeout(timeout);
        if (error) session.destroy();
      });
      if (!sent) clearTimeout(timeout);
    }, every);
    this.#keepalive.unref();
  }

  #dropSession(session: ClientHttp2Session | undefined, destroy = true): void {
    if (!session) return;
    if (this.#session === session) {
      this.#session = undefined;
      this.#open = 0;
      clearInterval(this.#keepalive);
    }
    // After a GOAWAY the calls in flight may finish; no new ones start on the session.
    if (destroy && !session.destroyed) session.destroy();
  }
}

/** grpc-timeout: at most eight digits, in the finest unit that fits. */
function timeoutHeader(ms: number): string {
  const value = Math.max(0, Math.ceil(ms));
  if (value < 1e8) return `${value}m`;
  if (value / 1000 < 1e8) return `${Math.ceil(value / 1000)}S`;
  return `${Math.ceil(value / 60_000)}M`;
}

/**
 * Writes one length-prefixed message. A method may hand its message over in parts (a small head
 * and the bulk bytes) so that the bulk is written as it is, never copied into one buffer.
 */
function writeMessage<Req>(
  stream: ClientHttp2Stream,
  // biome-ignore lint/suspicious/noExplicitAny: the reply type does not matter here
  method: MethodSpec<Req, any>,
  request: Req,
  call: ResolvedCall,
): boolean {
  const parts = method.requestSerializeParts?.(request) ?? [method.requestSerialize(request)];
  let length = 0;
  for (const part of parts) length += part.byteLength;
  const prefix = Buffer.allocUnsafe(5);
  prefix[0] = 0;
  prefix.writeUInt32BE(length, 1);
  stream.write(prefix);
  let ok = true;
  for (let i = 0; i < parts.length; i++) {
    const last = i === parts.length - 1;
    ok = stream.write(parts[i]!, last && call.onWritten ? () => call.onWritten!(request) : undefined);
  }
  return ok;
}

/** Collects the reply: its messages (one for these call kinds), then the status in the trailers. */
function readReply<Res>(
  stream: ClientHttp2Stream,
  // biome-ignore lint/suspicious/noExplicitAny: the request type does not matter here
  method: MethodSpec<any, Res>,
  maxReceive: number,
  server: string,
  finish: (error: ClientError | undefined, value?: Res) => void,
  sessionFailure: () => string,
): void {
  let buffered: Buffer[] = [];
  let bufferedBytes = 0;
  let message: Res | undefined;
  let messages = 0;
  let headers: IncomingHttpHeaders | undefined;
  let statusSeen = false;
  const fail = (code: number, details: string, trailers?: IncomingHttpHeaders) =>
    finish(ClientError.fromTrailers(code, details, trailers ?? {}, server));
  const settleFrom = (trailers: IncomingHttpHeaders) => {
    statusSeen = true;
    const code = Number(trailers["grpc-status"]);
    const details = decodeURIComponentSafe(String(trailers["grpc-message"] ?? ""));
    if (code !== Status.OK) return fail(code, details, trailers);
    if (messages !== 1)
      return fail(Status.INTERNAL, `the server sent ${messages} replies to a call that takes one`);
    finish(undefined, message);
  };
  stream.on("response", (h) => {
    headers = h;
    const http = Number(h[constants.HTTP2_HEADER_STATUS]);
    if (http !== 200) {
      fail(
        h["grpc-status"] !== undefined ? Number(h["grpc-status"]) : statusOfHttp(http),
        `HTTP status ${http}`,
        h,
      );
    } else if (h["grpc-status"] !== undefined) {
      // A trailers-only reply: the status comes with the headers.
      settleFrom(h);
    }
  });
  stream.on("data", (chunk: Buffer) => {
    buffered.push(chunk);
    bufferedBytes += chunk.byteLength;
    while (bufferedBytes >= 5) {
      const head = buffered.length === 1 ? buffered[0]! : Buffer.concat(buffered);
      buffered = [head];
      const length = head.readUInt32BE(1);
      if (head[0] !== 0)
        return fail(Status.INTERNAL, "the server sent a compressed message that was not asked for");
      if (length > maxReceive) {
        return fail(
          Status.RESOURCE_EXHAUSTED,
          `a reply of ${length} bytes exceeds the limit of ${maxReceive}`,
        );
      }
      if (bufferedBytes < 5 + length) return;
      try {
        message = method.responseDeserialize(head.subarray(5, 5 + length));
      } catch (error) {
        return fail(Status.INTERNAL, `the server's reply could not be decoded: ${(error as Error).message}`);
      }
      messages++;
      buffered = bufferedBytes > 5 + length ? [head.subarray(5 + length)] : [];
      bufferedBytes -= 5 + length;
    }
  });
  stream.on("trailers", (trailers) => settleFrom(trailers));
  stream.on("error", () => {});
  stream.on("close", () => {
    if (statusSeen) return;
    const code = stream.rstCode;
    if (code === constants.NGHTTP2_REFUSED_STREAM) fail(Status.UNAVAILABLE, "the server refused the stream");
    else if (code === constants.NGHTTP2_CANCEL) fail(Status.CANCELLED, "the call was cancelled");
    else if (code === constants.NGHTTP2_ENHANCE_YOUR_CALM)
      fail(Status.RESOURCE_EXHAUSTED, "the server asked to calm down");
    else if (code === constants.NGHTTP2_INADEQUATE_SECURITY)
      fail(Status.PERMISSION_DENIED, "inadequate security");
    else if (headers === undefined)
      fail(Status.UNAVAILABLE, sessionFailure() || "the connection to the server ended");
    else fail(Status.UNAVAILABLE, "the stream ended without a status");
  });
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
