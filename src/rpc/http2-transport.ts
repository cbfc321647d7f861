import {
  type ClientHttp2Session,
  connect,
  constants,
  type OutgoingHttpHeaders,
  type SecureClientSessionOptions,
} from "node:http2";
import { ClientError } from "./client-error.js";
import { Status } from "./grpc-status.js";
import { GrpcStream } from "./grpc-stream.js";
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
  /**
   * While calls are open, ping the server after this long without a byte from it (and expect the
   * answer within the timeout): a cut link ends the session instead of hanging its calls.
   */
  keepaliveMs?: number;
  /**
   * Least time between two pings on one session, the first excepted. Other gRPC servers (C-core,
   * Go) refuse pings more often than every 5 minutes on a connection they send nothing on
   * ("too_many_pings": the connection and its calls die), so the default is their 5 minutes.
   */
  keepaliveMinIntervalMs?: number;
  keepaliveTimeoutMs?: number;
  /** Largest reply message accepted. */
  maxReceiveBytes?: number;
}

/** A call with streams both ways: requests sent as the caller goes, replies read as they come. */
export interface DuplexCall<Req, Res> {
  /** Sends one request; resolves when the stream can take more. */
  send(request: Req): Promise<void>;
  /** No more requests. */
  end(): void;
  /** Ends the call (the server is told) with this error, or CANCELLED. */
  cancel(error?: ClientError): void;
  replies: AsyncIterable<Res>;
}

const userAgent = "rpcpool-node";

/**
 * A gRPC client over node:http2 for one server: one HTTP/2 session, opened on first use and again
 * after it ends, carrying calls of every kind (see grpc-stream.ts). It is what rpcpool's pool
 * calls with: grpc-js's client copies every message once more and its module load dominates a
 * small program's start-up. The wire is gRPC's, so any gRPC server answers it.
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

  async unary<Req, Res>(method: MethodSpec<Req, Res>, request: Req, call: ResolvedCall): Promise<Res> {
    const grpc = this.#start(method, call);
    grpc.write(request);
    grpc.end();
    return grpc.single();
  }

  /**
   * Streams requests with backpressure; the reply may come while requests are still being written
   * (the server refused early), and writing stops then. A failure of the source cancels the call
   * and is rethrown as it is.
   */
  async clientStream<Req, Res>(
    method: MethodSpec<Req, Res>,
    requests: AsyncIterable<Req> | Iterable<Req>,
    call: ResolvedCall,
  ): Promise<Res> {
    const grpc = this.#start(method, call);
    const reply = grpc.single();
    // The reply may fail while requests are still read: it is awaited below, not lost.
    reply.catch(() => {});
    let sourceError: { error: unknown } | undefined;
    try {
      for await (const request of requests) {
        if (grpc.ended) break;
        if (!grpc.write(request)) await grpc.drained();
      }
      grpc.end();
    } catch (error) {
      sourceError = { error };
      grpc.fail(new ClientError(Status.CANCELLED, "the requests failed", { cause: error }));
    }
    try {
      return await reply;
    } catch (error) {
      throw sourceError ? sourceError.error : error;
    }
  }

  /** One request, replies as they come. */
  serverStream<Req, Res>(
    method: MethodSpec<Req, Res>,
    request: Req,
    call: ResolvedCall,
  ): AsyncGenerator<Res> {
    const grpc = this.#start(method, call);
    grpc.write(request);
    grpc.end();
    return grpc.replies();
  }

  /** Streams both ways. */
  duplex<Req, Res>(method: MethodSpec<Req, Res>, call: ResolvedCall): DuplexCall<Req, Res> {
    const grpc = this.#start(method, call);
    return {
      send: async (request) => {
        if (grpc.ended) return;
        if (!grpc.write(request)) await grpc.drained();
      },
      end: () => grpc.end(),
      cancel: (error) =>
        grpc.fail(error ?? new ClientError(Status.CANCELLED, "cancelled", { server: this.address })),
      replies: grpc.replies(),
    };
  }

  /** Ends the session; calls in flight fail with UNAVAILABLE. */
  close(): void {
    this.#closed = true;
    this.#dropSession(this.#session);
  }

  /** A call's stream on the session (a new session when there is none), already counted as open. */
  #start<Req, Res>(method: MethodSpec<Req, Res>, call: ResolvedCall): GrpcStream<Req, Res> {
    const { signal } = call;
    if (signal?.aborted) throw ClientError.fromAbort(signal, this.address);
    if (this.#closed) {
      throw new ClientError(Status.UNAVAILABLE, "the connection was closed", { server: this.address });
    }
    let session: ClientHttp2Session;
    let stream: ReturnType<ClientHttp2Session["request"]>;
    try {
      session = this.#session_();
      stream = session.request(this.#headers(method, call), { endStream: false });
    } catch (error) {
      throw new ClientError(Status.UNAVAILABLE, (error as Error).message, {
        server: this.address,
        cause: error,
      });
    }
    if (this.#open++ === 0) session.ref();
    const grpc = new GrpcStream(stream, method, {
      server: this.address,
      deadline: call.deadline,
      signal,
      maxReceiveBytes: this.options.maxReceiveBytes ?? 64 << 20,
      onWritten: call.onWritten,
      connectionFailure: () => this.#lastFailure,
    });
    grpc.onEnd = () => {
      if (this.#session === session && --this.#open === 0 && !session.destroyed) session.unref();
    };
    return grpc;
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
    });
    session.on("error", (error) => {
      this.#lastFailure = error.message;
      this.#dropSession(session);
    });
    session.on("close", () => this.#dropSession(session));
    // After a GOAWAY the calls in flight may finish; new ones go to a new session.
    session.on("goaway", () => this.#dropSession(session, false));
    // An idle session must not keep the process alive; open calls ref it (see #start).
    session.unref();
    this.#session = session;
    this.#open = 0;
    this.#startKeepalive(session);
    return session;
  }

  /**
   * Pings while calls are open and the server has been silent for a whole interval: a dead peer
   * (a cut link) ends the session instead of hanging. A server that sends bytes is never pinged;
   * after the first ping of a session, pings are at least keepaliveMinIntervalMs apart, within
   * the ping policy of C-core and Go servers (the first ping is never held against a client).
   */
  #startKeepalive(session: ClientHttp2Session): void {
    const every = this.options.keepaliveMs;
    if (!every) return;
    const minInterval = this.options.keepaliveMinIntervalMs ?? 300_000;
    clearInterval(this.#keepalive);
    const heard = () => {
      try {
        return session.socket?.bytesRead ?? 0;
      } catch {
        return 0;
      }
    };
    let lastHeard = -1;
    let lastPing = Number.NEGATIVE_INFINITY;
    this.#keepalive = setInterval(() => {
      if (session.destroyed || this.#open === 0) {
        lastHeard = -1;
        return;
      }
      const now = heard();
      if (now !== lastHeard) {
        // Bytes came in the last interval (or calls just opened): the server is alive.
        lastHeard = now;
        return;
      }
      if (performance.now() - lastPing < minInterval) return;
      lastPing = performance.now();
      const timeout = setTimeout(() => {
        this.#lastFailure = `no answer to a keepalive ping within ${this.options.keepaliveTimeoutMs ?? 20_000} ms`;
        session.destroy();
      }, this.options.keepaliveTimeoutMs ?? 20_000);
      timeout.unref();
      const sent = session.ping((error) => {
        clearTimeout(timeout);
        // The ping's answer is not news from the calls: silence is counted from here.
        lastHeard = heard();
        if (error && !session.destroyed) session.destroy();
      });
      if (!sent) clearTimeout(timeout);
    }, every);
    this.#keepalive.unref();
  }

  #dropSession(session: ClientHttp2Session | undefined, destroy = true): void {
    if (!session) return;
    if (this.#session === session) {
      this.#session = undefined;
      clearInterval(this.#keepalive);
    }
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
