import { availableParallelism } from "node:os";
import type { Registry } from "prom-client";
import type { StatsResponse } from "../gen/rpcpool/pool/v1/store.js";
import { ClientError } from "../rpc/client-error.js";
import { Status as status } from "../rpc/grpc-status.js";
import { MethodDefaults } from "../rpc/method-defaults.js";
import type { AnyServiceDefinition, Idempotency, MessageCodec, MethodSpec } from "../rpc/method-spec.js";
import { Collectives, type ReduceOp, type StoreCallOptions, type ValueTraffic } from "./collectives.js";
import { noServerError } from "./connect-failure.js";
import { Discovery } from "./discovery.js";
import { type LabelRules, labelsOf, matching, mergeRules, rank, unmetError } from "./label-match.js";
import type { StartedServer } from "./local-servers.js";
import type { ClientObserver } from "./metrics/client-observer.js";
import type { Outcome, RunOptions, TaskFn } from "./outcome.js";
import { connectAll, connectionsTo, PoolMembers } from "./pool-members.js";
import type { ConnectOptions, LocalPoolOptions } from "./pool-options.js";
import { PoolRuns } from "./pool-runs.js";
import { applyOne, asCompleted, type Inputs, imapValues, mapSettled, mapValues } from "./run-verbs.js";
import type { PoolServer, ServerConnection } from "./server-connection.js";
import { ServiceClient } from "./service-client.js";
import type { ServiceOptions } from "./service-options.js";
import type { Session, SessionOptions } from "./session.js";
import type { ValueHandle } from "./value-handle.js";

export type { ConnectOptions, LocalPoolOptions } from "./pool-options.js";

/**
 * A pool of servers: every call is an awaited function, and `map` spreads many inputs over all
 * servers like multiprocessing.Pool.map, results in input order. One task engine runs all of it
 * (PoolRuns, kept off this public face).
 */
export class Pool {
  readonly #members: PoolMembers;
  readonly #runs: PoolRuns;
  readonly #values: Collectives;
  #local: StartedServer[] = [];
  readonly #sessions = new Set<Session>();
  /** The grpc_client_* series, made on the first pool.metrics(). */
  #metrics?: Promise<{ registry: Registry; observer: ClientObserver }>;

  private constructor(
    members: PoolMembers,
    readonly options: ConnectOptions,
  ) {
    this.#members = members;
    this.#values = new Collectives(this);
    this.#runs = new PoolRuns(() => members.list, options, members.defaults, this.#values);
    this.#runs.engine.onIdle = (server) => members.closeIfDrained(server);
  }

  /**
   * Connects to running servers. Unreachable ones are skipped with a warning while any is up. With
   * `pipeline`, it returns without waiting for the servers' Info: see ConnectOptions.pipeline.
   */
  static async connect(targets: string[], options: ConnectOptions = {}): Promise<Pool> {
    if (targets.length === 0) throw new ClientError(status.INVALID_ARGUMENT, "no server address given");
    const discovery = new Discovery(targets, options.lookup);
    const defaults = new MethodDefaults(options.methods);
    const failures: ClientError[] = [];
    const addresses = await discovery.resolve();
    const up = options.pipeline
      ? connectionsTo(addresses, options, defaults)
      : await connectAll(addresses, options, defaults, failures);
    if (up.length === 0) throw noServerError(targets, failures);
    const pool = new Pool(new PoolMembers(up, options, defaults), options);
    const pump = () => pool.#runs.engine.pump();
    if (options.pipeline) {
      pool.#runs.engine.unreachable = () => pool.#members.unreachable;
      pool.#members.greet(targets, pump);
    }
    if (discovery.dynamic) pool.#members.watch(discovery, pump);
    return pool;
  }

  /** Starts servers on loopback (the embedded default), connects, and stops them on close. */
  static async local(options: LocalPoolOptions = {}): Promise<Pool> {
    const count = options.servers ?? availableParallelism();
    const workers = options.workersPerServer ?? options.workers ?? 1;
    const local = options.start
      ? await options.start(count, workers)
      : // Loaded here: it spawns processes (node:child_process, node:readline), which `connect` never does.
        await (await import("./local-servers.js")).startLocalServers(count, { ...options, workers });
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
    return this.#members.list;
  }

  /**
   * The servers a run may use now by their labels: those meeting the pool's `require` and the
   * given one, those with more of `prefer` first (docs/scheduling.md). For a baseline on one
   * server: `{ servers: pool.serversFor().slice(0, 1) }`.
   */
  serversFor(rules: LabelRules = {}): readonly PoolServer[] {
    return matching(this.#members.list, mergeRules(this.options, rules));
  }

  /** Calls the pool runs at once by default: the servers' worker threads, added up. */
  slots(): number {
    return this.#runs.slots();
  }

  /** Runs one call on the least busy server, moved to another if its server fails. */
  apply<R>(
    fn: (server: PoolServer, signal: AbortSignal) => Promise<R>,
    options: RunOptions = {},
  ): Promise<R> {
    return applyOne(
      this.#runs.tasks<undefined, R>((_, server, signal) => fn(server, signal)),
      undefined,
      options,
    );
  }

  /** Runs fn for every input across the servers; results in input order; throws the first failure. */
  map<I, R>(inputs: Inputs<I>, fn: TaskFn<I, R>, options: RunOptions = {}): Promise<R[]> {
    return mapValues(this.#runs.tasks(fn), inputs, options);
  }

  /** Every outcome, success or failure, in input order. */
  mapSettled<I, R>(inputs: Inputs<I>, fn: TaskFn<I, R>, options: RunOptions = {}): Promise<Outcome<R>[]> {
    return mapSettled(this.#runs.tasks(fn), inputs, options);
  }

  /** Results in input order as they become ready (Pool.imap), in bounded memory; throws at the first failure. */
  imap<I, R>(inputs: Inputs<I>, fn: TaskFn<I, R>, options: RunOptions = {}): AsyncGenerator<R> {
    return imapValues(this.#runs.tasks(fn), inputs, options);
  }

  /** Outcomes as they complete (Dask's as_completed, Pool.imap_unordered), in bounded memory. */
  asCompleted<I, R>(
    inputs: Inputs<I>,
    fn: TaskFn<I, R>,
    options: RunOptions = {},
  ): AsyncGenerator<Outcome<R>> {
    return asCompleted(this.#runs.tasks(fn), inputs, options);
  }

  /** The pool over a service's definition (either ts-proto form): typed apply, map and streams of its methods. */
  service<D extends AnyServiceDefinition>(definition: D, options: ServiceOptions = {}): ServiceClient<D> {
    return new ServiceClient(this.#runs, definition, options);
  }

  /**
   * Opens a symmetric session (docs/sessions.md) with one server: `server` (one of `servers`, or
   * its address or name), or the least busy one. Its objects live on that server until released.
   */
  async session(server?: PoolServer | string, options: SessionOptions = {}): Promise<Session> {
    // Of the servers hosting sessions, those meeting the pool's requirements, preferred first.
    const rules = mergeRules(this.options, {});
    const all = this.#members.list.filter((s) => s.hosts(sessionPath));
    const hosting = matching(all, rules);
    if (server === undefined && hosting.length === 0 && all.length > 0 && rules.require)
      throw unmetError(rules.require, all, sessionPath);
    const chosen =
      server === undefined
        ? hosting
            .filter((s) => rank(labelsOf(s), rules.prefer) === rank(labelsOf(hosting[0]!), rules.prefer))
            .reduce<ServerConnection | undefined>((a, b) => (a && a.load <= b.load ? a : b), undefined)
        : this.#members.list.find((s) => s === server || s.address === server || s.name === server);
    if (!chosen) {
      throw server === undefined
        ? new ClientError(status.UNIMPLEMENTED, "no server of the pool hosts sessions")
        : new ClientError(
            status.NOT_FOUND,
            `no server ${typeof server === "string" ? server : server.address} in this pool`,
          );
    }
    // Loaded here, with the sessions' generated code: a pool that opens none never reads it.
    const { Session } = await import("./session.js");
    const session = await Session.open(chosen, options);
    this.#sessions.add(session);
    this.#members.hostSession(session, chosen);
    session.ended.then(() => {
      this.#sessions.delete(session);
      this.#members.sessionEnded(session);
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
    return this.#runs.idempotencyOf(path);
  }

  /**
   * The pool's Prometheus registry (prom-client): grpc_client_* series of every call from now on,
   * named and labelled as go-grpc-prometheus's; a batch's items and coalesced calls count under
   * their own method. Made (and prom-client loaded) on the first call: a pool never asked pays nothing.
   */
  metrics(): Promise<Registry> {
    this.#metrics ??= import("./metrics/prometheus-client.js").then(({ clientMetrics }) => {
      const made = clientMetrics();
      this.#members.observe(made.observer);
      return made;
    });
    return this.#metrics.then((made) => made.registry);
  }

  /** Closes its sessions, drops its stored values, closes every channel, and stops the local servers this pool started. */
  async close(): Promise<void> {
    await Promise.all([...this.#sessions].map((session) => session.close()));
    // The servers drop this pool's values now rather than after their idle time.
    await this.#values.release();
    this.#runs.engine.close();
    this.#members.close();
    await Promise.all(this.#local.map((server) => server.stop()));
    this.#local = [];
  }
}

const sessionPath = "/rpcpool.pool.v1.SessionService/Open";

function isCodec<T>(x: unknown): x is MessageCodec<T> {
  return typeof (x as MessageCodec<T> | undefined)?.encode === "function";
}
