import { type ClientHttp2Session, connect, constants, type OutgoingHttpHeaders } from "node:http2";
import { ClientError } from "../../rpc/client-error.js";
import { Status } from "../../rpc/grpc-status.js";
import type { MethodSpec } from "../../rpc/method-spec.js";
import { metadataHeaders, timeoutHeader } from "./call-headers.js";
import { GrpcStream } from "./grpc-stream.js";
import { requestsUntil } from "./requests-until.js";
import type { DuplexCall, ResolvedCall, Transport, TransportOptions } from "./transport.js";

const userAgent = "rpcpool-node";

/**
 * A gRPC client over node:http2 for one server: one HTTP/2 session, opened on first use and again
 * after it ends, carrying calls of every kind (see grpc-stream.ts). It is what rpcpool's pool
 * calls with: grpc-js's client copies every message once more and its module load dominates a
 * small program's start-up. The wire is gRPC's, so any gRPC server answers it.
 */
export class Http2Transport implements Transport {
  /** The session new calls go to; after a GOAWAY its calls finish on the old one. */
  #current: SessionState | undefined;
  /** Every session not yet closed: the current one, and those finishing their calls after a GOAWAY. */
  readonly #sessions = new Set<SessionState>();
  #closed = false;

  constructor(
    readonly address: string,
    readonly options: TransportOptions = {},
  ) {}

  async unary<Req, Res>(method: MethodSpec<Req, Res>, request: Req, call: ResolvedCall): Promise<Res> {
    const grpc = this.#start(method, call, true);
    grpc.write(request);
    grpc.end();
    return grpc.single();
  }

  async clientStream<Req, Res>(
    method: MethodSpec<Req, Res>,
    requests: AsyncIterable<Req> | Iterable<Req>,
    call: ResolvedCall,
  ): Promise<Res> {
    const grpc = this.#start(method, call, true);
    const reply = grpc.single();
    // The reply may fail while requests are still read: it is awaited below, not lost.
    reply.catch(() => {});
    let sourceError: { error: unknown } | undefined;
    try {
      for await (const request of requestsUntil(requests, reply)) {
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

  serverStream<Req, Res>(
    method: MethodSpec<Req, Res>,
    request: Req,
    call: ResolvedCall,
  ): AsyncGenerator<Res> {
    const grpc = this.#start(method, call, false);
    grpc.write(request);
    grpc.end();
    return grpc.replies();
  }

  duplex<Req, Res>(method: MethodSpec<Req, Res>, call: ResolvedCall): DuplexCall<Req, Res> {
    const grpc = this.#start(method, call, false);
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

  /** Ends the sessions (a draining one too); calls in flight fail with UNAVAILABLE. */
  close(): void {
    this.#closed = true;
    this.#current = undefined;
    for (const { session } of this.#sessions) if (!session.destroyed) session.destroy();
    this.#sessions.clear();
  }

  /** A call's stream on the session (a new session when there is none), already counted as open. */
  #start<Req, Res>(
    method: MethodSpec<Req, Res>,
    call: ResolvedCall,
    singleReply: boolean,
  ): GrpcStream<Req, Res> {
    const { signal } = call;
    if (signal?.aborted) throw ClientError.fromAbort(signal, this.address);
    if (this.#closed) {
      throw new ClientError(Status.UNAVAILABLE, "the connection was closed", { server: this.address });
    }
    // The caller's mistakes are refused before a connection is opened for them.
    const headers = this.#headers(method, call);
    const state = this.#session();
    let stream: ReturnType<ClientHttp2Session["request"]>;
    try {
      stream = state.session.request(headers, { endStream: false });
    } catch (error) {
      // Node refuses a request on a session that is closing or gone (the connection's fault), or
      // headers it cannot send (ours: INTERNAL, never blamed on the server).
      const code = String((error as NodeJS.ErrnoException).code);
      const gone = code === "ERR_HTTP2_INVALID_SESSION" || code === "ERR_HTTP2_GOAWAY_SESSION";
      throw new ClientError(gone ? Status.UNAVAILABLE : Status.INTERNAL, (error as Error).message, {
        server: this.address,
        cause: error,
      });
    }
    if (state.open++ === 0) state.session.ref();
    const grpc = new GrpcStream(stream, method, {
      server: this.address,
      deadline: call.deadline,
      signal,
      singleReply,
      maxReceiveBytes: this.options.maxReceiveBytes ?? 64 << 20,
      onWritten: call.onWritten,
      onHeaders: call.onHeaders,
      onTrailers: call.onTrailers,
      connectionFailure: () => state.failure,
    });
    grpc.onEnd = () => {
      if (--state.open > 0 || state.session.destroyed) return;
      state.session.unref();
      if (state.draining) state.session.close();
    };
    return grpc;
  }

  #headers(method: MethodSpec, call: ResolvedCall): OutgoingHttpHeaders {
    const headers: OutgoingHttpHeaders = {
      ...metadataHeaders(call.metadata, this.address),
      [constants.HTTP2_HEADER_METHOD]: "POST",
      [constants.HTTP2_HEADER_PATH]: method.path,
      [constants.HTTP2_HEADER_CONTENT_TYPE]: "application/grpc",
      [constants.HTTP2_HEADER_TE]: "trailers",
      [constants.HTTP2_HEADER_USER_AGENT]: userAgent,
      "grpc-accept-encoding": "identity",
    };
    const remaining = call.deadline - Date.now();
    if (Number.isFinite(remaining)) headers["grpc-timeout"] = timeoutHeader(remaining);
    return headers;
  }

  /** The current session, or a new one; one that ends, fails or goes away takes no new calls. */
  #session(): SessionState {
    const current = this.#current;
    if (current && !current.session.closed && !current.session.destroyed) return current;
    const tls = this.options.tls;
    const session = connect(`${tls ? "https" : "http"}://${this.address}`, {
      ...tls,
      settings: { enablePush: false, initialWindowSize: streamWindow },
    });
    const state: SessionState = { session, open: 0, failure: "" };
    // The connection's window too: at the default 64 KiB, a download gets one window per round trip.
    session.once("connect", () => {
      if (!session.destroyed) session.setLocalWindowSize(connectionWindow);
    });
    session.on("error", (error) => {
      state.failure ||= error.message;
      this.#retire(state);
      session.destroy();
    });
    session.on("close", () => {
      this.#retire(state);
      this.#sessions.delete(state);
      state.stopKeepalive?.();
    });
    // After a GOAWAY the calls in flight may finish; new ones go to a new session. Node closes a
    // session on a GOAWAY right after this event, and a closed session cannot be pinged: its calls
    // would run on without keepalive, hanging on a cut link. So Node's close is skipped here, and
    // the session is closed when its last call ends (see #start).
    session.on("goaway", (code: number) => {
      this.#retire(state);
      if (code !== constants.NGHTTP2_NO_ERROR || state.open === 0) return;
      state.draining = true;
      session.close = () => {};
      queueMicrotask(() => {
        delete (session as { close?: unknown }).close;
      });
    });
    // An idle session must not keep the process alive; open calls ref it (see #start).
    session.unref();
    this.#current = state;
    this.#sessions.add(state);
    state.stopKeepalive = this.#keepalive(state);
    return state;
  }

  #retire(state: SessionState): void {
    if (this.#current === state) this.#current = undefined;
  }

  /**
   * Pings while the session's calls are open and the server has been silent for a whole interval:
   * a dead peer (a cut link) ends the session instead of hanging. A server that sends bytes is
   * never pinged; after the first ping of a session, pings are at least keepaliveMinIntervalMs
   * apart, within the ping policy of C-core and Go servers (the first ping is never held against
   * a client). Runs until the session closes, also after a GOAWAY while its calls finish.
   */
  #keepalive(state: SessionState): (() => void) | undefined {
    const every = this.options.keepaliveMs;
    if (!every) return undefined;
    const { session } = state;
    const minInterval = this.options.keepaliveMinIntervalMs ?? 300_000;
    const timeoutMs = this.options.keepaliveTimeoutMs ?? 20_000;
    const heard = () => {
      try {
        return session.socket?.bytesRead ?? 0;
      } catch {
        return 0;
      }
    };
    let lastHeard = -1;
    let lastPing = Number.NEGATIVE_INFINITY;
    let connectingSince: number | undefined;
    const interval = setInterval(() => {
      if (session.destroyed || session.closed || state.open === 0) {
        lastHeard = -1;
        return;
      }
      // A session still connecting (TCP, TLS) cannot be pinged (Node cancels such a ping): one
      // that takes longer than a ping's answer may is as dead as a peer that does not answer.
      if (session.connecting) {
        connectingSince ??= performance.now();
        if (performance.now() - connectingSince > timeoutMs) {
          state.failure ||= `no connection (TCP and TLS) within ${timeoutMs} ms`;
          session.destroy();
        }
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
        state.failure ||= `no answer to a keepalive ping within ${timeoutMs} ms`;
        session.destroy();
      }, timeoutMs);
      timeout.unref();
      const sent = session.ping((error) => {
        clearTimeout(timeout);
        // The ping's answer is not news from the calls: silence is counted from here.
        lastHeard = heard();
        if (error && !session.destroyed && !session.closed) {
          state.failure ||= `a keepalive ping failed: ${error.message}`;
          session.destroy();
        }
      });
      if (sent === false) clearTimeout(timeout);
    }, every);
    interval.unref();
    return () => clearInterval(interval);
  }
}

/** One HTTP/2 session and what is known of it. */
interface SessionState {
  session: ClientHttp2Session;
  /** Calls open on it: while there are any, the session keeps the process alive and is pinged. */
  open: number;
  /** Why it failed (e.g. "connect ECONNREFUSED ..."), for the calls it took down; "" while healthy. */
  failure: string;
  /** It had a GOAWAY: it finishes its calls, then closes. */
  draining?: boolean;
  stopKeepalive?: () => void;
}

/** Receive windows: a stream's (the SETTINGS' initial window) and the whole connection's. */
const streamWindow = 4 << 20;
const connectionWindow = 16 << 20;
