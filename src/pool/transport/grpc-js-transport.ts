import type {
  Call,
  CallOptions,
  Client,
  ClientDuplexStream,
  ClientReadableStream,
  ClientWritableStream,
  Metadata,
  ServiceError,
} from "@grpc/grpc-js";
import { ClientError } from "../../rpc/client-error.js";
import { Status } from "../../rpc/grpc-status.js";
import type { MethodSpec } from "../../rpc/method-spec.js";
import { metadataHeaders } from "./call-headers.js";
import { requestsUntil } from "./requests-until.js";
import type { DuplexCall, ResolvedCall, Transport, TransportOptions } from "./transport.js";

type GrpcJs = typeof import("@grpc/grpc-js");

/**
 * The Transport over @grpc/grpc-js's generic Client (makeUnaryRequest and its siblings, with the
 * MethodSpec's codecs): the reference implementation, for when rpcpool's own node:http2 client
 * (http2-transport.ts, the default) is in doubt. grpc-js is loaded on the first call, so that a
 * program that does not choose it never loads it (its load is most of a small client's start-up).
 */
export class GrpcJsTransport implements Transport {
  #client: Promise<{ grpc: GrpcJs; client: Client }> | undefined;
  #closed = false;

  constructor(
    readonly address: string,
    readonly options: TransportOptions = {},
  ) {}

  async unary<Req, Res>(method: MethodSpec<Req, Res>, request: Req, call: ResolvedCall): Promise<Res> {
    const { grpc, client } = await this.#open(call);
    const metadata = this.#metadata(grpc, call);
    return this.#single(method, call, (done) =>
      client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        metadata,
        this.#callOptions(call),
        done,
      ),
    );
  }

  async clientStream<Req, Res>(
    method: MethodSpec<Req, Res>,
    requests: AsyncIterable<Req> | Iterable<Req>,
    call: ResolvedCall,
  ): Promise<Res> {
    const { grpc, client } = await this.#open(call);
    const metadata = this.#metadata(grpc, call);
    let stream: ClientWritableStream<Req> | undefined;
    const reply = this.#single<Res>(method, call, (done) => {
      stream = client.makeClientStreamRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        metadata,
        this.#callOptions(call),
        done,
      );
      return stream as unknown as Call;
    });
    reply.catch(() => {});
    let ended = false;
    // (then, not finally: a finally's promise would fail unhandled with the reply.)
    const mark = () => {
      ended = true;
    };
    reply.then(mark, mark);
    const writer = stream!;
    try {
      for await (const request of requestsUntil(requests, reply)) {
        if (ended) break;
        const flushed = call.onWritten ? () => call.onWritten!(request) : undefined;
        if (!writer.write(request, flushed)) await drained(writer as unknown as NodeJS.EventEmitter, reply);
      }
      writer.end();
    } catch (error) {
      writer.cancel();
      await reply.catch(() => {});
      throw error;
    }
    return reply;
  }

  async *serverStream<Req, Res>(
    method: MethodSpec<Req, Res>,
    request: Req,
    call: ResolvedCall,
  ): AsyncGenerator<Res> {
    const { grpc, client } = await this.#open(call);
    const stream = client.makeServerStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      this.#metadata(grpc, call),
      this.#callOptions(call),
    );
    yield* this.#replies<Res>(stream, call);
  }

  duplex<Req, Res>(method: MethodSpec<Req, Res>, call: ResolvedCall): DuplexCall<Req, Res> {
    const opened = this.#open(call).then(
      ({ grpc, client }) =>
        client.makeBidiStreamRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          this.#metadata(grpc, call),
          this.#callOptions(call),
        ) as ClientDuplexStream<Req, Res>,
    );
    let cancelled: ClientError | undefined;
    let ended = false;
    opened.catch(() => {});
    const self = this;
    return {
      send: async (request) => {
        const stream = await opened;
        if (ended || cancelled || stream.destroyed) return;
        if (!stream.write(request)) await drained(stream as unknown as NodeJS.EventEmitter);
      },
      end: () => {
        ended = true;
        opened.then((stream) => stream.end()).catch(() => {});
      },
      cancel: (error) => {
        cancelled ??= error ?? new ClientError(Status.CANCELLED, "cancelled", { server: this.address });
        opened.then((stream) => stream.cancel()).catch(() => {});
      },
      replies: (async function* () {
        const stream = await opened;
        try {
          yield* self.#replies<Res>(stream, call);
        } catch (error) {
          throw cancelled ?? error;
        }
      })(),
    };
  }

  close(): void {
    this.#closed = true;
    this.#client?.then(({ client }) => client.close()).catch(() => {});
  }

  /** The client (grpc-js loaded on first use); refuses a closed transport or an aborted call. */
  async #open(call: ResolvedCall): Promise<{ grpc: GrpcJs; client: Client }> {
    if (call.signal?.aborted) throw ClientError.fromAbort(call.signal, this.address);
    if (this.#closed) {
      throw new ClientError(Status.UNAVAILABLE, "the connection was closed", { server: this.address });
    }
    this.#client ??= import("@grpc/grpc-js").then((grpc) => ({ grpc, client: this.#newClient(grpc) }));
    const opened = await this.#client;
    if (call.signal?.aborted) throw ClientError.fromAbort(call.signal, this.address);
    return opened;
  }

  #newClient(grpc: GrpcJs): Client {
    const { tls } = this.options;
    const credentials = tls
      ? grpc.credentials.createSsl(
          tls.ca ? Buffer.from(tls.ca as string | Buffer) : null,
          tls.key ? Buffer.from(tls.key as string | Buffer) : null,
          tls.cert ? Buffer.from(tls.cert as string | Buffer) : null,
        )
      : grpc.credentials.createInsecure();
    const options: Record<string, string | number> = {
      "grpc.max_receive_message_length": this.options.maxReceiveBytes ?? 64 << 20,
      "grpc.max_send_message_length": -1,
      "grpc.primary_user_agent": "rpcpool-node",
    };
    if (tls?.servername) options["grpc.ssl_target_name_override"] = tls.servername;
    if (this.options.keepaliveMs) {
      // grpc-js pings every keepalive_time while calls are open; rpcpool's least interval is the
      // floor, as C-core and Go servers refuse pings more often than that.
      options["grpc.keepalive_time_ms"] = Math.max(
        this.options.keepaliveMs,
        this.options.keepaliveMinIntervalMs ?? 300_000,
      );
      options["grpc.keepalive_timeout_ms"] = this.options.keepaliveTimeoutMs ?? 20_000;
    }
    return new grpc.Client(this.address, credentials, options);
  }

  /** The call's metadata, checked as the http2 transport checks it (reserved keys are refused). */
  #metadata(grpc: GrpcJs, call: ResolvedCall): Metadata {
    metadataHeaders(call.metadata, this.address);
    const metadata = new grpc.Metadata();
    for (const [key, value] of Object.entries(call.metadata)) {
      metadata.set(key, key.endsWith("-bin") && typeof value === "string" ? Buffer.from(value) : value);
    }
    return metadata;
  }

  #callOptions(call: ResolvedCall): CallOptions {
    return Number.isFinite(call.deadline) ? { deadline: call.deadline } : {};
  }

  /** A call with one reply, its signal and metadata callbacks wired, its failure a ClientError. */
  #single<Res>(
    method: MethodSpec,
    call: ResolvedCall,
    start: (done: (error: ServiceError | null, reply?: Res) => void) => Call,
  ): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      let aborted: ClientError | undefined;
      const onAbort = () => {
        aborted = ClientError.fromAbort(call.signal!, this.address);
        started.cancel();
      };
      const started = start((error, reply) => {
        call.signal?.removeEventListener("abort", onAbort);
        if (error) reject(aborted ?? failedCall(method, ClientError.from(error, this.address)));
        else resolve(reply as Res);
      });
      this.#watch(started, call);
      call.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  async *#replies<Res>(stream: ClientReadableStream<Res>, call: ResolvedCall): AsyncGenerator<Res> {
    let aborted: ClientError | undefined;
    const onAbort = () => {
      aborted = ClientError.fromAbort(call.signal!, this.address);
      stream.cancel();
    };
    this.#watch(stream, call);
    call.signal?.addEventListener("abort", onAbort, { once: true });
    let done = false;
    try {
      for await (const reply of stream as AsyncIterable<Res>) yield reply;
      done = true;
    } catch (error) {
      done = true;
      throw aborted ?? ClientError.from(error, this.address);
    } finally {
      call.signal?.removeEventListener("abort", onAbort);
      // A reader that leaves early cancels the call.
      if (!done) stream.cancel();
    }
  }

  #watch(stream: Call, call: ResolvedCall): void {
    // The status of a call already read or cancelled may come as an "error" nobody awaits.
    (stream as unknown as NodeJS.EventEmitter).on("error", () => {});
    if (call.onHeaders) stream.on("metadata", (metadata: Metadata) => call.onHeaders!(mapOf(metadata)));
    if (call.onTrailers) {
      stream.on("status", (status: { metadata: Metadata }) => call.onTrailers!(mapOf(status.metadata)));
    }
  }
}

function mapOf(metadata: Metadata): Record<string, string | Buffer> {
  return metadata.getMap() as Record<string, string | Buffer>;
}

/** Resolves when a writable stream may take more, or the call has ended. */
function drained(stream: NodeJS.EventEmitter, ended?: Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const go = () => {
      stream.off("drain", go);
      stream.off("close", go);
      resolve();
    };
    stream.on("drain", go);
    stream.on("close", go);
    ended?.then(go, go);
  });
}

/**
 * The failure with the call it ended, as the http2 transport records it (the pool decides on
 * retries by it): grpc-js does not say whether a request left, so only a connection never made
 * counts as not sent.
 */
function failedCall(method: MethodSpec, error: ClientError): ClientError {
  const neverConnected =
    error.code === Status.UNAVAILABLE && /no connection established|ECONNREFUSED/i.test(error.details);
  return error.of({
    method: method.path,
    idempotency: method.idempotency ?? "UNKNOWN",
    sent: !neverConnected,
  });
}
