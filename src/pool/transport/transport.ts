import type { CallMetadata, ClientTls } from "../../rpc/client-credentials.js";
import type { ClientError } from "../../rpc/client-error.js";
import type { MethodSpec } from "../../rpc/method-spec.js";

export type { CallMetadata } from "../../rpc/client-credentials.js";

/** Metadata a server sent (its reply headers or trailers): `-bin` values as Buffers. */
export type ReceivedMetadata = Readonly<Record<string, string | Buffer>>;

/** A call with everything decided: its deadline, the caller's signal, and the metadata to send. */
export interface ResolvedCall {
  /** Epoch milliseconds; Infinity for none. */
  deadline: number;
  signal?: AbortSignal;
  metadata: CallMetadata;
  /** Told when a request's bytes have been handed to the socket (a buffer may then be reused). */
  onWritten?: (request: unknown) => void;
  /** Told the server's reply headers (its initial metadata), when they come. */
  onHeaders?: (metadata: ReceivedMetadata) => void;
  /** Told the server's trailers of a call that ended with a status (OK or not). */
  onTrailers?: (metadata: ReceivedMetadata) => void;
}

/** Which implementation carries the calls (see docs/dependencies.md). */
export type TransportKind = "http2" | "grpc-js";

export interface TransportOptions {
  /**
   * "http2" (default): rpcpool's own gRPC client over node:http2, light to load and copy-free.
   * "grpc-js": @grpc/grpc-js's client, the reference implementation, for a server it serves better.
   */
  kind?: TransportKind;
  /** TLS (server verification, and a client certificate for mutual TLS); plaintext when absent. */
  tls?: ClientTls;
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

/**
 * A gRPC client for one server that knows no service (as connect-es's Transport): the four call
 * kinds on a MethodSpec (path and codecs), each with a deadline, a signal and metadata. Every
 * failure is a ClientError with a gRPC status code.
 */
export interface Transport {
  readonly address: string;
  unary<Req, Res>(method: MethodSpec<Req, Res>, request: Req, call: ResolvedCall): Promise<Res>;
  /**
   * Streams requests with backpressure; the reply may come while requests are still being written
   * (the server refused early), and writing stops then. A failure of the source cancels the call
   * and is rethrown as it is.
   */
  clientStream<Req, Res>(
    method: MethodSpec<Req, Res>,
    requests: AsyncIterable<Req> | Iterable<Req>,
    call: ResolvedCall,
  ): Promise<Res>;
  /** One request, replies as they come; the loop ends with the call's status (an error throws). */
  serverStream<Req, Res>(method: MethodSpec<Req, Res>, request: Req, call: ResolvedCall): AsyncGenerator<Res>;
  /** Streams both ways. */
  duplex<Req, Res>(method: MethodSpec<Req, Res>, call: ResolvedCall): DuplexCall<Req, Res>;
  /** Ends the connection; calls in flight fail with UNAVAILABLE. */
  close(): void;
}
