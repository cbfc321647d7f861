import {
  type ChannelCredentials,
  type ChannelOptions,
  Client,
  type ClientDuplexStream,
  credentials,
  Metadata,
} from "@grpc/grpc-js";
import { Idempotency, type InfoResponse, InfoServiceDefinition } from "../gen/rpcpool/pool/v1/info.js";
import type { CallOptions } from "../rpc/call-options.js";
import { clientStreamCall, type ResolvedCall, unaryCall } from "../rpc/calls.js";
import { MethodDefaults } from "../rpc/method-defaults.js";
import { type Idempotency as IdempotencyName, type MethodSpec, methodsOf } from "../rpc/method-spec.js";

/** Channel settings: keepalive notices a dead peer during a long call instead of waiting forever. */
export const defaultChannelOptions: ChannelOptions = {
  "grpc.max_receive_message_length": 64 << 20,
  "grpc.max_send_message_length": 64 << 20,
  "grpc.keepalive_time_ms": 10_000,
  "grpc.keepalive_timeout_ms": 5_000,
  "grpc.keepalive_permit_without_calls": 1,
};

/** What a server said of itself (rpcpool.pool.v1.InfoService/Info). */
export type ServerInfo = InfoResponse;

/**
 * One server of a pool, as a task function sees it: where it is, what it said of itself, and
 * calls on it that take the pool's metadata (token) and the per-method defaults.
 */
export interface PoolServer {
  readonly address: string;
  /** The server's name as it stamps replies, or its address before it answered. */
  readonly name: string;
  readonly info: ServerInfo | undefined;
  unary<Req, Res>(method: MethodSpec<Req, Res>, request: Req, options?: CallOptions): Promise<Res>;
  clientStream<Req, Res>(
    method: MethodSpec<Req, Res>,
    requests: AsyncIterable<Req> | Iterable<Req>,
    options?: CallOptions,
  ): Promise<Res>;
  /** Asks the server for its Info again (load, memory, calls in flight). */
  refreshInfo(options?: CallOptions): Promise<ServerInfo>;
}

const infoMethod = methodsOf(InfoServiceDefinition).info as MethodSpec<object, InfoResponse>;

const idempotencyNames: Record<number, IdempotencyName> = {
  [Idempotency.IDEMPOTENCY_IDEMPOTENT]: "IDEMPOTENT",
  [Idempotency.IDEMPOTENCY_NO_SIDE_EFFECTS]: "NO_SIDE_EFFECTS",
};

/** The connection behind a PoolServer: a channel, the pool's bookkeeping of load and failures. */
export class ServerConnection implements PoolServer {
  readonly #client: Client;
  info: ServerInfo | undefined;
  #hosted?: Map<string, IdempotencyName>;
  /** Calls this client has in flight on the server, from every run of the pool. */
  inFlight = 0;
  /** Consecutive failures that blame the server, and when the last one happened. */
  failures = 0;
  failedAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly address: string,
    readonly options: {
      credentials?: ChannelCredentials;
      metadata?: () => Metadata;
      channelOptions?: ChannelOptions;
      defaults?: MethodDefaults;
      /** How long a failed server is avoided: this, doubled for each failure in a row, at most 12x. */
      cooldownMs?: number;
    } = {},
  ) {
    this.#client = new Client(address, options.credentials ?? credentials.createInsecure(), {
      ...defaultChannelOptions,
      ...options.channelOptions,
    });
  }

  get name(): string {
    return this.info?.server || this.address;
  }

  /** Worker threads the server has: the calls worth keeping in flight on it. */
  get workers(): number {
    return Math.max(1, this.info?.workers ?? 1);
  }

  /** Avoided for new work: it failed recently (the cool-down doubles with each failure in a row). */
  get cooling(): boolean {
    if (this.failures === 0) return false;
    const cooldown = (this.options.cooldownMs ?? 5_000) * 2 ** Math.min(this.failures - 1, 3.6);
    return Date.now() - this.failedAt < cooldown;
  }

  /** Calls in flight per worker thread; a cooling server comes after every healthy one. */
  get load(): number {
    return (this.cooling ? 1e9 : 0) + this.inFlight / this.workers;
  }

  /** Records a failure that blames the server; true when it was healthy until now. */
  markFailed(): boolean {
    // Calls that were in flight when it failed fail together: one incident, not several.
    if (this.cooling) return false;
    this.failedAt = Date.now();
    return this.failures++ === 0;
  }

  /** Records a success; true when the server had been failing. */
  markHealthy(): boolean {
    const was = this.failures > 0;
    this.failures = 0;
    return was;
  }

  /** Whether the server hosts a method (servers that list nothing are assumed to host everything). */
  hosts(path: string): boolean {
    return this.#hosted === undefined || this.#hosted.size === 0 || this.#hosted.has(path);
  }

  /** What the server's proto says of a method it hosts, when a local definition could not say. */
  idempotencyOf(path: string): IdempotencyName | undefined {
    return this.#hosted?.get(path);
  }

  resolve(method: MethodSpec, options: CallOptions = {}): ResolvedCall {
    const metadata = this.options.metadata?.() ?? new Metadata();
    return {
      deadline:
        Date.now() + (options.timeoutMs ?? (this.options.defaults ?? noDefaults).policy(method).timeoutMs),
      signal: options.signal,
      metadata: withExtra(metadata, options.metadata),
      server: this.address,
    };
  }

  unary<Req, Res>(method: MethodSpec<Req, Res>, request: Req, options?: CallOptions): Promise<Res> {
    return unaryCall(this.#client, method, request, this.resolve(method, options));
  }

  clientStream<Req, Res>(
    method: MethodSpec<Req, Res>,
    requests: AsyncIterable<Req> | Iterable<Req>,
    options?: CallOptions,
  ): Promise<Res> {
    return clientStreamCall(this.#client, method, requests, this.resolve(method, options));
  }

  /** Opens a stream both ways (a session): the pool's metadata; by default no deadline. */
  bidiStream<Req, Res>(method: MethodSpec<Req, Res>, options?: CallOptions): ClientDuplexStream<Req, Res> {
    const call = this.resolve(method, options);
    return this.#client.makeBidiStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      call.metadata,
      { deadline: call.deadline },
    );
  }

  async refreshInfo(options: CallOptions = {}): Promise<ServerInfo> {
    const info = await this.unary(infoMethod, {}, { timeoutMs: 5_000, ...options });
    this.info = info;
    this.#hosted = new Map(info.methods.map((m) => [m.path, idempotencyNames[m.idempotency] ?? "UNKNOWN"]));
    return info;
  }

  close(): void {
    this.#client.close();
  }
}

const noDefaults = new MethodDefaults();

function withExtra(metadata: Metadata, extra: Record<string, string> | undefined): Metadata {
  if (extra) for (const [key, value] of Object.entries(extra)) metadata.set(key, value);
  return metadata;
}
