import { availableParallelism } from "node:os";
import type { Registry } from "prom-client";
import type { StatsResponse } from "../gen/rpcpool/pool/v1/store.js";
import { type ClientSecurity, callMetadata, transportTls } from "../rpc/client-credentials.js";
import { ClientError } from "../rpc/client-error.js";
import { Status as status } from "../rpc/grpc-status.js";
import { MethodDefaults, type MethodPolicy } from "../rpc/method-defaults.js";
import type { AnyServiceDefinition, Idempotency, MessageCodec, MethodSpec } from "../rpc/method-spec.js";
import { Coalescers } from "./call-coalescer.js";
import { Collectives, type ReduceOp, type StoreCallOptions, type ValueTraffic } from "./collectives.js";
import { connectFailure, noServerError } from "./connect-failure.js";
import { Discovery, type Lookup } from "./discovery.js";
import { type LocalServerOptions, type StartedServer, startLocalServers } from "./local-servers.js";
import type { ClientObserver } from "./metrics/client-observer.js";
import type { Outcome, PoolEvent, RunOptions, TaskFn } from "./outcome.js";
import { settledAsCompleted, settledInOrder, settledInOrderStream } from "./outcome-streams.js";
import { type PoolServer, ServerConnection } from "./server-connection.js";
import { type PoolRuns, ServiceClient, type ServiceOptions } from "./service-client.js";
import { Session, type SessionOptions } from "./session.js";
import { TaskEngine } from "./task-engine.js";
import type { RunSettings } from "./task-run.js";
import type { TransportOptions } from "./transport/transport.js";
import { ValueHandle } from "./value-handle.js";

export interface ConnectOptions {
  /** TLS, mutual TLS and the bearer token. */
  security?: ClientSecurity;
  /** How often dns:/// targets are looked up again (default 30 s). */
  resolveEveryMs?: number;
  /** Name lookup for dns:/// targets (default: the system resolver). */
  lookup?: Lookup;
  /** Told of servers skipped at start. */
  onWarning?: (message: string) => void;
  /** Told of every run's events (each run's own `onEvent` hears its own too). */
  onEvent?: (event: PoolEvent) => void;
  /** Attempts per task beyond the first, on other servers, for retryable work. Default 3. */
  retries?: number;
  /** How long a server that failed is avoided before it gets work again (default 5 s, doubling while it keeps failing). */
  cooldownMs?: number;
  /** Per-method defaults by full path, over the defaults by call shape (see MethodDefaults). */
  methods?: Record<string, Partial<MethodPolicy>>;
  /** Connection settings over rpcpool's (keepalive as docs/limits.md says, replies up to 64 MiB). */
  transport?: Partial<Omit<TransportOptions, "tls">>;
}

export interface LocalPoolOptions extends ConnectOptions, LocalServerOptions {
  /** Local servers to start; default one per core. */
  servers?: number;
  /** Worker threads per local server; default 1 (the servers together use every core). */
  workersPerServer?: number;
  /**
   * How to start them; default: one rpcpool-server process each (startLocalServers). The CLI
   * hosts them in its own process instead (src/cli/in-process-servers.ts).
   */
  start?: (count: number, workersPerServer: number) => Promise<StartedServer[]>;
}

/**
 * A pool of servers: every call is an awaited function, and `map` spreads many inputs over all
 * servers like multiprocessing.Pool.map, results in input order. One task engine runs all of it.
 */
export class Pool implements PoolRuns {
  readonly #servers: ServerConnection[];
  readonly #engine: TaskEngine;
  readonly #defaults: MethodDefaults;
  #local: StartedServer[] = [];
  readonly coalescers = new Coalescers();
  readonly #sessions = new Set<Session>();
  readonly #values: Collectives;
  #discovery?: { stop(): void };
  /** Servers discovery dropped whose calls or sessions are still running: closed once those end. */
  readonly #leaving = new Set<ServerConnection>();
  /** The server of each open session (a dropped server keeps its connection while one is open). */
  readonly #sessionHosts = new Map<Session, ServerConnection>();
  /** The grpc_client_* series, made on the first pool.metrics(). */
  #metrics?: Promise<{ registry: Registry; observer: ClientObserver }>;
  #observer?: ClientObserver;

  private constructor(
    servers: ServerConnection[],
    readonly options: ConnectOptions,
    defaults: MethodDefaults,
  ) {
    this.#servers = servers;
    this.#defaults = defaults;
    this.#values = new Collectives(this);
    // A task that finds its value missing on a server gets it put there, and runs again.
    this.#engine = new TaskEngine(
      () => this.#servers,
      (error, server, signal) => this.#values.recover(error, server, signal),
      // A definition without options (grpc-js's form) says UNKNOWN: the servers' Info may know more.
      (call) =>
        defaults.retries(
          call.method,
          call.idempotency === "UNKNOWN" ? (this.idempotencyOf(call.method) ?? "UNKNOWN") : call.idempotency,
        ),
    );
    this.#engine.onIdle = (server) => this.#closeIfDrained(server);
  }

  /** Connects to running servers. Unreachable ones are skipped with a warning while any is up. */
  static async connect(targets: string[], options: ConnectOptions = {}): Promise<Pool> {
    if (targets.length === 0) throw new ClientError(status.INVALID_ARGUMENT, "no server address given");
    const discovery = new Discovery(targets, options.lookup);
    const defaults = new MethodDefaults(options.methods);
    const failures: ClientError[] = [];
    const up = await connectAll(await discovery.resolve(), options, defaults, failures);
    if (up.length === 0) throw noServerError(targets, failures);
    const pool = new Pool(up, options, defaults);
    if (discovery.dynamic) {
      // Names are looked up again now and then: servers that join are used, those that leave dropped.
      pool.#discovery = discovery.watch(options.resolveEveryMs ?? 30_000, async (current) => {
        const known = new Set(pool.#servers.map((s) => s.address));
        for (const server of await connectAll(
          current.filter((address) => !known.has(address)),
          options,
          defaults,
        )) {
          if (pool.#observer) server.observe(pool.#observer);
          pool.#servers.push(server);
        }
        const leaving = pool.#servers.filter((server) => !current.includes(server.address));
        for (const server of leaving) pool.#remove(server);
        pool.#engine.pump();
      });
    }
    return pool;
  }

  /** Starts servers on loopback (the embedded default), connects, and stops them on close. */
  static async local(options: LocalPoolOptions = {}): Promise<Pool> {
    const count = options.servers ?? availableParallelism();
    const workers = options.workersPerServer ?? options.workers ?? 1;
    const local = options.start
      ? await options.start(count, workers)
      : await startLocalServers(count, { ...options, workers });
    try {
      const pool = await Pool.connect(
        local.map((server) => server.address),
        options,
      );
      pool.#local = local;
      return pool;
    } catch (error) {
      await Promise.all(local.map((server) => server.stop()));
      throw error;
    }
  }

  /** The servers work goes to now (discovery adds and removes). */
  get servers(): readonly PoolServer[] {
    return this.#servers;
  }

  /** Calls the pool runs at once by default: the servers' worker threads, added up. */
  slots(): number {
    return this.#servers.reduce((n, server) => n + server.workers, 0);
  }

  /** Runs one call on the least busy server, moved to another if its server fails. */
  async apply<R>(
    fn: (server: PoolServer, signal: AbortSignal) => Promise<R>,
    options: RunOptions = {},
  ): Promise<R> {
    const [outcome] = await settledInOrder(
      this.#engine,
      [undefined],
      (_, server, signal) => fn(server, signal),
      {
        ...this.runSettings(options),
        perServer: options.perServer ?? Number.POSITIVE_INFINITY,
      },
    );
    if (!outcome!.ok) throw outcome!.error;
    return outcome!.value;
  }

  /** Runs fn for every input across the servers; results in input order; throws the first failure. */
  async map<I, R>(
    inputs: Iterable<I> | AsyncIterable<I>,
    fn: TaskFn<I, R>,
    options: RunOptions = {},
  ): Promise<R[]> {
    return valuesOf(await this.mapSettled(inputs, fn, options));
  }

  /** Every outcome, success or failure, in input order. */
  mapSettled<I, R>(
    inputs: Iterable<I> | AsyncIterable<I>,
    fn: TaskFn<I, R>,
    options: RunOptions = {},
  ): Promise<Outcome<R>[]> {
    return settledInOrder(this.#engine, inputs, fn, this.runSettings(options));
  }

  /** Results in input order as they become ready (Pool.imap), in bounded memory; throws at the first failure. */
  async *imap<I, R>(
    inputs: Iterable<I> | AsyncIterable<I>,
    fn: TaskFn<I, R>,
    options: RunOptions = {},
  ): AsyncGenerator<R> {
    for await (const outcome of settledInOrderStream(
      this.#engine,
      inputs,
      fn,
      this.runSettings(options),
      this.window(options),
    )) {
      if (!outcome.ok) throw outcome.error;
      yield outcome.value;
    }
  }

  /** Outcomes as they complete (Dask's as_completed, Pool.imap_unordered), in bounded memory. */
  asCompleted<I, R>(
    inputs: Iterable<I> | AsyncIterable<I>,
    fn: TaskFn<I, R>,
    options: RunOptions = {},
  ): AsyncGenerator<Outcome<R>> {
    return settledAsCompleted(this.#engine, inputs, fn, this.runSettings(options), this.window(options));
  }

  /** The pool over a service's definition (either ts-proto form): typed apply, map and streams of its methods. */
  service<D extends AnyServiceDefinition>(definition: D, options: ServiceOptions = {}): ServiceClient<D> {
    return new ServiceClient(this, definition, options);
  }

  /**
   * Opens a symmetric session (docs/sessions.md) with one server: `server` (one of `servers`, or
   * its address or name), or the least busy one. Its objects live on that server until released.
   */
  async session(server?: PoolServer | string, options: SessionOptions = {}): Promise<Session> {
    const hosting = this.#servers.filter((s) => s.hosts(sessionPath));
    const chosen =
      server === undefined
        ? hosting.reduce<ServerConnection | undefined>((a, b) => (a && a.load <= b.load ? a : b), undefined)
        : this.#servers.find((s) => s === server || s.address === server || s.name === server);
    if (!chosen) {
      throw server === undefined
        ? new ClientError(status.UNIMPLEMENTED, "no server of the pool hosts sessions")
        : new ClientError(
            status.NOT_FOUND,
            `no server ${typeof server === "string" ? server : server.address} in this pool`,
          );
    }
    const session = await Session.open(chosen, options);
    this.#sessions.add(session);
    this.#sessionHosts.set(session, chosen);
    session.ended.then(() => {
      this.#sessions.delete(session);
      this.#sessionHosts.delete(session);
      this.#closeIfDrained(chosen);
    });
    return session;
  }

  // ---- Collectives (docs/collectives.md) ----------------------------------------------------

  /**
   * Puts a value on every server once (MPI bcast) and returns its handle, named by its SHA-256:
   * requests carry `handle.id` instead of the value, and hosted methods read it with
   * `tools.store.get(id)`. The same value again travels nowhere; a server that lacks it later
   * (joined, restarted) gets it on first use. `value` is bytes, or a message with its codec.
   */
  broadcast(value: Uint8Array, options?: StoreCallOptions): Promise<ValueHandle<Buffer>>;
  broadcast<T>(value: T, codec: MessageCodec<T>, options?: StoreCallOptions): Promise<ValueHandle<T>>;
  broadcast<T>(value: T, codec?: MessageCodec<T> | StoreCallOptions, options?: StoreCallOptions) {
    return isCodec(codec)
      ? this.#values.broadcast(value, codec, options)
      : this.#values.broadcast(value, undefined, codec);
  }

  /**
   * Spreads values over the servers (MPI scatter), one handle each: a task whose input is a handle
   * runs on the server holding it, and moves with its data only if that server is lost (the pool
   * keeps its copy unless `copy: false` or `drop(handles, { servers: false })`).
   */
  scatter(
    values: readonly Uint8Array[],
    options?: StoreCallOptions & { copy?: boolean },
  ): Promise<ValueHandle<Buffer>[]>;
  scatter<T>(
    values: readonly T[],
    codec: MessageCodec<T>,
    options?: StoreCallOptions & { copy?: boolean },
  ): Promise<ValueHandle<T>[]>;
  scatter<T>(
    values: readonly T[],
    codec?: MessageCodec<T> | (StoreCallOptions & { copy?: boolean }),
    options?: StoreCallOptions & { copy?: boolean },
  ) {
    return isCodec(codec)
      ? this.#values.scatter(values, codec, options)
      : this.#values.scatter(values, undefined, codec);
  }

  /** The values of handles (MPI gather), decoded: kept results fetched from their servers. */
  gather<T>(handles: readonly ValueHandle<T>[], options?: StoreCallOptions): Promise<T[]> {
    return this.#values.gather(handles, options);
  }

  /**
   * Combines values with a reduce method (MPI reduce): a unary method of a service whose request is
   * `{ repeated V parts = 1; }` and whose response is a V, e.g. the lesson's MergeColumnSums. The
   * values on each server are combined there, then the partial results on one server.
   */
  reduce<V>(handles: readonly ValueHandle<V>[], op: ReduceOp<V>, options?: StoreCallOptions): Promise<V> {
    return this.#values.reduce(handles, op, options);
  }

  /**
   * A call whose result stays on the server (`{ keep: true }`): runs a unary method (one request)
   * or a client-stream method (its requests) through StoreService/Keep on the least busy server, or
   * where `near` lives, with failover; returns the result's handle for `gather`, `reduce` or tasks.
   */
  async keep<Req, Res>(
    method: MethodSpec<Req, Res>,
    requests: Req | readonly Req[],
    options: StoreCallOptions & { near?: ValueHandle<unknown> } = {},
  ): Promise<ValueHandle<Res>> {
    const list = method.requestStream ? (requests as readonly Req[]) : [requests as Req];
    const [handle] = await this.map(
      [options.near],
      (_, server, signal) => this.keepOn(server, method, list, { signal }),
      { signal: options.signal, idempotent: method.idempotency !== "UNKNOWN" },
    );
    return handle!;
  }

  /** `keep` on a given server, for task functions: `pool.map(handles, (h, server, signal) => pool.keepOn(...))`. */
  keepOn<Req, Res>(
    server: PoolServer,
    method: MethodSpec<Req, Res>,
    requests: readonly Req[],
    options?: StoreCallOptions,
  ): Promise<ValueHandle<Res>> {
    return this.#values.keepOn(server, method, requests, options);
  }

  /** Frees values: on the servers (`servers`, default true) and the pool's own copies (`client`, default true). */
  drop(
    handles: readonly ValueHandle<unknown>[],
    options?: { servers?: boolean; client?: boolean },
  ): Promise<void> {
    return this.#values.drop(handles, options);
  }

  /** Each server's value store now (StoreService/Stats): values, bytes, Put calls and bytes received. */
  storeStats(options?: StoreCallOptions): Promise<Array<{ server: string; stats: StatsResponse }>> {
    return this.#values.stats(options);
  }

  /** Where the pool knows a value to be: its home server (scattered, kept), the servers holding it, and whether it keeps a copy. */
  locate(handle: ValueHandle<unknown>): { home?: string; holders: string[]; copy: boolean } {
    return this.#values.locate(handle.id);
  }

  /** What this pool sent to the servers' stores: Put calls and value bytes. */
  get valueTraffic(): Readonly<ValueTraffic> {
    return this.#values.traffic;
  }

  /** What a server of the pool says of a method's idempotency, for definitions that do not carry it. */
  idempotencyOf(path: string): Idempotency | undefined {
    for (const server of this.#servers) {
      const level = server.idempotencyOf(path);
      if (level) return level;
    }
    return undefined;
  }

  /** The settings of a run from its options and the pool's (for ServiceClient and libraries). */
  runSettings(options: RunOptions & { method?: string; retries?: number }): RunSettings {
    const listeners = [options.onEvent, this.options.onEvent].filter((l) => l !== undefined);
    return {
      perServer: options.perServer,
      retries: options.retries ?? this.options.retries ?? 3,
      // Retries asked for in the call itself allow running any method again.
      idempotent: options.idempotent ?? (options.retries ? true : undefined),
      servers: options.servers ? new Set(options.servers as ServerConnection[]) : undefined,
      method: options.method,
      signal: options.signal,
      listeners,
      homeOf: (input) => {
        const near = options.near as ((input: unknown) => { id: string } | undefined) | undefined;
        const handle = near ? near(input) : input instanceof ValueHandle ? input : undefined;
        return handle ? this.#values.homeOf(handle.id) : undefined;
      },
    };
  }

  /** Inputs a streamed run reads ahead: `window`, or 8 per worker thread of the pool, at least 256. */
  window(options: RunOptions): number {
    return Math.max(1, options.window ?? Math.max(256, 8 * this.slots()));
  }

  /** The engine every run goes through (for ServiceClient and libraries that build runs of their own). */
  get engine(): TaskEngine {
    return this.#engine;
  }

  get defaults(): MethodDefaults {
    return this.#defaults;
  }

  /**
   * The pool's Prometheus registry (prom-client): grpc_client_* series of every call from now on,
   * named and labelled as go-grpc-prometheus's; a batch's items and coalesced calls count under
   * their own method. Made (and prom-client loaded) on the first call: a pool never asked pays nothing.
   */
  metrics(): Promise<Registry> {
    this.#metrics ??= import("./metrics/prometheus-client.js").then(({ clientMetrics }) => {
      const made = clientMetrics();
      this.#observer = made.observer;
      for (const server of [...this.#servers, ...this.#leaving]) server.observe(made.observer);
      return made;
    });
    return this.#metrics.then((made) => made.registry);
  }

  /** Closes its sessions, drops its stored values, closes every channel, and stops the local servers this pool started. */
  async close(): Promise<void> {
    await Promise.all([...this.#sessions].map((session) => session.close()));
    // The servers drop this pool's values now rather than after their idle time.
    await this.#values.release();
    this.#discovery?.stop();
    this.#engine.close();
    for (const server of [...this.#servers, ...this.#leaving]) server.close();
    this.#leaving.clear();
    await Promise.all(this.#local.map((server) => server.stop()));
    this.#local = [];
  }

  /**
   * Takes a server discovery dropped out of dispatch at once, and closes its connection once the
   * calls it runs have settled and its sessions ended: a pod in a rollout drains them (it answers
   * what it has), and closing under them would cancel work it is about to finish and run it again
   * elsewhere.
   */
  #remove(server: ServerConnection): void {
    const i = this.#servers.indexOf(server);
    if (i < 0) return;
    this.#servers.splice(i, 1);
    this.#leaving.add(server);
    this.#closeIfDrained(server);
  }

  /** Closes a dropped server's connection once no task call and no session of this pool is on it. */
  #closeIfDrained(server: ServerConnection): void {
    if (!this.#leaving.has(server) || server.inFlight > 0) return;
    for (const host of this.#sessionHosts.values()) if (host === server) return;
    this.#leaving.delete(server);
    server.close();
  }
}

const sessionPath = "/rpcpool.pool.v1.SessionService/Open";

function isCodec<T>(x: unknown): x is MessageCodec<T> {
  return typeof (x as MessageCodec<T> | undefined)?.encode === "function";
}

function valuesOf<R>(outcomes: Outcome<R>[]): R[] {
  return outcomes.map((outcome) => {
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  });
}

/** Connects to each address (Info within 5 s); unreachable ones are skipped with a warning. */
async function connectAll(
  addresses: string[],
  options: ConnectOptions,
  defaults: MethodDefaults,
  failures: ClientError[] = [],
): Promise<ServerConnection[]> {
  const security = options.security ?? {};
  const tls = transportTls(security);
  const metadata = callMetadata(security);
  const connections = addresses.map(
    (address) =>
      new ServerConnection(address, {
        tls,
        metadata,
        defaults,
        transport: options.transport,
        cooldownMs: options.cooldownMs,
      }),
  );
  const hellos = await Promise.allSettled(connections.map((connection) => connection.refreshInfo()));
  hellos.forEach((hello, i) => {
    if (hello.status === "rejected") {
      connections[i]!.close();
      const error = ClientError.from(hello.reason, addresses[i]);
      failures.push(error);
      const { reason, tls } = connectFailure(error);
      options.onWarning?.(
        `skipping ${addresses[i]}: ${error.codeName}: ${tls ? "TLS refused: " : ""}${reason}`,
      );
    }
  });
  return connections.filter((_, i) => hellos[i]!.status === "fulfilled");
}
