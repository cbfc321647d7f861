import { Idempotency, type InfoResponse, InfoServiceDefinition } from "../gen/rpcpool/pool/v1/info.js";
import type { CallOptions } from "../rpc/call-options.js";
import { Status } from "../rpc/grpc-status.js";
import { MethodDefaults } from "../rpc/method-defaults.js";
import { type Idempotency as IdempotencyName, type MethodSpec, methodsOf } from "../rpc/method-spec.js";
import type { ClientObserver } from "./metrics/client-observer.js";
import { meteredTransport } from "./metrics/metered-transport.js";
import { type RateView, ServerRate } from "./server-rates.js";
import { createTransport } from "./transport/create-transport.js";
import type {
  CallMetadata,
  DuplexCall,
  ResolvedCall,
  Transport,
  TransportOptions,
} from "./transport/transport.js";

/**
 * Connection settings: keepalive notices a dead peer during a long call instead of waiting
 * forever. Pings only while calls are open and after 10 s without a byte from the server; after
 * a session's first ping, at most one every 5 minutes: the least interval C-core and Go servers
 * accept by default (pinged more often, they close the connection with "too_many_pings").
 */
export const defaultTransportOptions: Omit<TransportOptions, "tls"> = {
  keepaliveMs: 10_000,
  keepaliveMinIntervalMs: 300_000,
  keepaliveTimeoutMs: 5_000,
  maxReceiveBytes: 64 << 20,
};

/** What a server said of itself (rpcpool.pool.v1.InfoService/Info). */
export type ServerInfo = InfoResponse;

/** A client-stream call's options: `onWritten` hears when a request's bytes are on their way. */
export type StreamOptions<Req> = CallOptions & { onWritten?: (request: Req) => void };

/**
 * One server of a pool, as a task function sees it: where it is, what it said of itself, and
 * calls on it that take the pool's metadata (token) and the per-method defaults.
 */
export interface PoolServer {
  readonly address: string;
  /** The server's name as it stamps replies, or its address before it answered. */
  readonly name: string;
  readonly info: ServerInfo | undefined;
  /** How fast this client measured it (server-rates.ts); absent on a server that is no pool's. */
  readonly rate?: RateView;
  /** A plain gRPC server (no rpcpool.pool.v1.InfoService): one worker, none of rpcpool's own services. */
  readonly plain: boolean;
  /** Whether it hosts a method, by full path (a server that lists nothing is taken to host everything). */
  hosts(path: string): boolean;
  unary<Req, Res>(method: MethodSpec<Req, Res>, request: Req, options?: CallOptions): Promise<Res>;
  /** Streams requests with backpressure; `onWritten` lets a caller reuse a request's buffers. */
  clientStream<Req, Res>(
    method: MethodSpec<Req, Res>,
    requests: AsyncIterable<Req> | Iterable<Req>,
    options?: StreamOptions<Req>,
  ): Promise<Res>;
  /** One request, replies as they come (the loop ends with the call's status). */
  serverStream<Req, Res>(
    method: MethodSpec<Req, Res>,
    request: Req,
    options?: CallOptions,
  ): AsyncGenerator<Res>;
  /** Streams both ways (sessions). */
  duplex<Req, Res>(method: MethodSpec<Req, Res>, options?: StreamOptions<Req>): DuplexCall<Req, Res>;
  /** Asks the server for its Info again (load, memory, calls in flight). */
  refreshInfo(options?: CallOptions): Promise<ServerInfo>;
}

const infoMethod = methodsOf(InfoServiceDefinition).info;

const idempotencyNames: Record<number, IdempotencyName> = {
  [Idempotency.IDEMPOTENCY_IDEMPOTENT]: "IDEMPOTENT",
  [Idempotency.IDEMPOTENCY_NO_SIDE_EFFECTS]: "NO_SIDE_EFFECTS",
};

const noDefaults = new MethodDefaults();

/** The package of rpcpool's own services (Info, Batch, Store, Session). */
const frameworkPrefix = "/rpcpool.pool.v1.";

/** The connection behind a PoolServer: a transport, and the pool's bookkeeping of load and failures. */
export class ServerConnection implements PoolServer {
  #transport: Transport;
  #metered = false;
  info: ServerInfo | undefined;
  plain = false;
  #hosted?: Map<string, IdempotencyName>;
  /** Calls this client has in flight on the server, from every run of the pool. */
  inFlight = 0;
  /** Consecutive failures that blame the server, and when the last one happened. */
  failures = 0;
  failedAt = Number.NEGATIVE_INFINITY;
  /** Its measured throughput and the expected ends of its calls in flight (docs/scheduling.md). */
  readonly rate = new ServerRate();
  /**
   * Set while its first Info is on the way in a pool that sends calls before Info
   * (`ConnectOptions.pipeline`): true once it answered, false when it never did (it was never one
   * of the pool's servers). Undefined once settled, and always in a pool that waits for Info.
   */
  greeting: Promise<boolean> | undefined;

  constructor(
    readonly address: string,
    readonly options: {
      tls?: TransportOptions["tls"];
      /** Sent with every call (the bearer token). */
      metadata?: CallMetadata;
      /** Keepalive, reply size, and `kind`: "http2" (default) or "grpc-js" (see transport.ts). */
      transport?: Partial<Omit<TransportOptions, "tls">>;
      defaults?: MethodDefaults;
      /** How long a failed server is avoided: this, doubled for each failure in a row, at most 12x. */
      cooldownMs?: number;
    } = {},
  ) {
    this.#transport = createTransport(address, {
      ...defaultTransportOptions,
      ...options.transport,
      tls: options.tls,
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
    return Date.now() < this.coolsUntil;
  }

  /** When its cool-down ends (the past when it has none). */
  get coolsUntil(): number {
    if (this.failures === 0) return Number.NEGATIVE_INFINITY;
    return this.failedAt + (this.options.cooldownMs ?? 5_000) * 2 ** Math.min(this.failures - 1, 3.6);
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

  /**
   * Whether the server hosts a method (servers that list nothing are assumed to host everything;
   * a plain gRPC server everything but rpcpool's own services: batches, the store, sessions).
   */
  hosts(path: string): boolean {
    if (this.plain) return !path.startsWith(frameworkPrefix);
    return this.#hosted === undefined || this.#hosted.size === 0 || this.#hosted.has(path);
  }

  /** What the server's proto says of a method it hosts, when a local definition could not say. */
  idempotencyOf(path: string): IdempotencyName | undefined {
    return this.#hosted?.get(path);
  }

  /** The one place a call's deadline is decided: the caller's, else the method's default. */
  resolve<Req>(method: MethodSpec, options: StreamOptions<Req> = {}): ResolvedCall {
    const timeoutMs = options.timeoutMs ?? (this.options.defaults ?? noDefaults).policy(method).timeoutMs;
    const own = this.options.metadata ?? {};
    return {
      deadline: Date.now() + timeoutMs,
      signal: options.signal,
      metadata: options.metadata ? { ...own, ...options.metadata } : own,
      onWritten: options.onWritten as ((request: unknown) => void) | undefined,
    };
  }

  unary<Req, Res>(method: MethodSpec<Req, Res>, request: Req, options?: CallOptions): Promise<Res> {
    return this.#transport.unary(method, request, this.resolve(method, options));
  }

  clientStream<Req, Res>(
    method: MethodSpec<Req, Res>,
    requests: AsyncIterable<Req> | Iterable<Req>,
    options?: StreamOptions<Req>,
  ): Promise<Res> {
    return this.#transport.clientStream(method, requests, this.resolve(method, options));
  }

  serverStream<Req, Res>(
    method: MethodSpec<Req, Res>,
    request: Req,
    options?: CallOptions,
  ): AsyncGenerator<Res> {
    return this.#transport.serverStream(method, request, this.resolve(method, options));
  }

  duplex<Req, Res>(method: MethodSpec<Req, Res>, options?: StreamOptions<Req>): DuplexCall<Req, Res> {
    return this.#transport.duplex(method, this.resolve(method, options));
  }

  /** Opens a stream both ways (a session): the pool's metadata; by default no deadline. */

  async refreshInfo(options: CallOptions = {}): Promise<ServerInfo> {
    const info = await this.unary(infoMethod, {}, { timeoutMs: 5_000, ...options });
    this.info = info;
    this.#hosted = new Map(info.methods.map((m) => [m.path, idempotencyNames[m.idempotency] ?? "UNKNOWN"]));
    return info;
  }

  /**
   * The first words with a server: its Info. A gRPC server that answers UNIMPLEMENTED hosts no
   * rpcpool services (a Python grpcio or Go server of the same proto): it is taken as a plain
   * server of one worker, whose methods' idempotency comes from the client's definition. A
   * non-gRPC server's 404 is UNIMPLEMENTED too, but says "HTTP status": that one is refused.
   */
  async hello(options: CallOptions = {}): Promise<void> {
    try {
      await this.refreshInfo(options);
    } catch (error) {
      const e = error as { code?: number; details?: string };
      if (e.code !== Status.UNIMPLEMENTED || /HTTP status/i.test(e.details ?? "")) throw error;
      this.plain = true;
    }
  }

  /** Counts this connection's calls from now on (pool.metrics()); once, however often called. */
  observe(observer: ClientObserver): void {
    if (this.#metered) return;
    this.#metered = true;
    this.#transport = meteredTransport(this.#transport, observer);
  }

  close(): void {
    this.#transport.close();
  }
}
