import { availableParallelism } from "node:os";
import { type ChannelOptions, status } from "@grpc/grpc-js";
import { applyOne } from "./apply-one.js";
import { asCompletedOutcomes } from "./as-completed.js";
import type { CallControls } from "./call-options.js";
import { ClientError } from "./client-error.js";
import { type ClientSecurity, callMetadata, channelCredentials } from "./credentials.js";
import { Discovery, type Lookup } from "./discovery.js";
import { type LocalServer, startLocalServers } from "./local-servers.js";
import {
  type Membership,
  type Outcome,
  type PoolEvent,
  type ScheduleOptions,
  schedule,
  type TaskRunner,
} from "./scheduler.js";
import { ServerConnection } from "./server-connection.js";
import { type ServiceOptions, ServicePool } from "./service-pool.js";
import type { ServiceDefinitionOf } from "./service-types.js";
import { circlesCall, meansCall, sleepCall, spinCall } from "./small-calls.js";
import {
  type ColumnSumsResult,
  columnSumsCall,
  type DivisorName,
  type WeightedMeansResult,
  weightedMeansCall,
} from "./table-calls.js";
import type { TableReadOptions } from "./table-input.js";

export interface ConnectOptions {
  /** TLS, mutual TLS and the bearer token. */
  security?: ClientSecurity;
  /** How often dns:/// targets are looked up again (default 30 s). */
  resolveEveryMs?: number;
  /** Name lookup for dns:/// targets (default: the system resolver). */
  lookup?: Lookup;
  /** Told of servers skipped at start and of events while mapping. */
  onWarning?: (message: string) => void;
  onEvent?: (event: PoolEvent) => void;
  /** Attempts per task beyond the first, on other servers. Default 3. */
  retries?: number;
  /**
   * grpc-js channel options over rpcpool's (keepalive, 64 MiB messages). For instance
   * `{ "grpc.use_local_subchannel_pool": 1 }` gives this pool TCP connections of its own instead
   * of sharing them with other pools of the process to the same servers.
   */
  channelOptions?: ChannelOptions;
}

export interface LocalPoolOptions extends ConnectOptions {
  /** Local servers to start; default one per core. */
  servers?: number;
  /** Worker threads per local server; default 1 (the servers together use every core). */
  workersPerServer?: number;
}

export type MapOptions = Omit<ScheduleOptions, "onEvent"> & {
  /** Run on these servers only (e.g. `pool.servers.slice(0, 1)` for a sequential baseline). */
  servers?: ServerConnection[];
  onEvent?: (event: PoolEvent) => void;
};

/**
 * A pool of compute servers: every computation is an awaited function, and `map` spreads many
 * inputs over all servers like multiprocessing.Pool.map, results in input order.
 */
export class Pool {
  #local: LocalServer[] = [];
  #discovery?: { stop(): void };
  readonly #listeners = new Set<() => void>();
  readonly #membership: Membership = {
    current: () => this.servers,
    subscribe: (onChange) => {
      this.#listeners.add(onChange);
      return () => this.#listeners.delete(onChange);
    },
  };

  private constructor(
    readonly servers: ServerConnection[],
    readonly options: ConnectOptions,
  ) {}

  /** Connects to running servers. Unreachable ones are skipped with a warning while any is up. */
  static async connect(targets: string[], options: ConnectOptions = {}): Promise<Pool> {
    if (targets.length === 0) throw new ClientError(status.INVALID_ARGUMENT, "no server address given");
    const discovery = new Discovery(targets, options.lookup);
    const addresses = await discovery.resolve();
    const failures: ClientError[] = [];
    const up = await connectAll(addresses, options, failures);
    if (up.length === 0) {
      // A refusal (wrong token, untrusted certificate) says more than "unreachable": pass it on.
      const refusal = failures.find(
        (f) => f.code === status.UNAUTHENTICATED || f.code === status.PERMISSION_DENIED,
      );
      if (refusal) throw new ClientError(refusal.code, `no server accepted us: ${refusal.details}`);
      throw new ClientError(status.UNAVAILABLE, `no server could be reached (${targets.join(", ")})`);
    }
    const pool = new Pool(up, options);
    if (discovery.dynamic) {
      // Names are looked up again now and then: servers that join are used, those that leave dropped.
      pool.#discovery = discovery.watch(options.resolveEveryMs ?? 30_000, async (current) => {
        const known = new Set(pool.servers.map((s) => s.address));
        const joined = current.filter((address) => !known.has(address));
        for (const server of await connectAll(joined, options)) pool.addServer(server);
        for (const server of pool.servers)
          if (!current.includes(server.address)) pool.removeServer(server.address);
      });
    }
    return pool;
  }

  /** Adds a connected server: running maps hand it work at once. */
  addServer(server: ServerConnection): void {
    this.servers.push(server);
    for (const listener of this.#listeners) listener();
  }

  /** Removes a server: it gets no new work; its calls in flight finish. */
  removeServer(address: string): void {
    const i = this.servers.findIndex((s) => s.address === address);
    if (i < 0) return;
    const [server] = this.servers.splice(i, 1);
    for (const listener of this.#listeners) listener();
    // Closing a channel lets the calls already started on it finish.
    server!.close();
  }

  /** Starts servers on loopback (the embedded default), connects, and stops them on close. */
  static async local(options: LocalPoolOptions = {}): Promise<Pool> {
    const local = await startLocalServers(options.servers ?? availableParallelism(), {
      workers: options.workersPerServer ?? 1,
    });
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

  /** Calls the pool runs at once by default: the servers' worker threads, added up. */
  slots(): number {
    return this.servers.reduce((n, server) => n + Math.max(1, server.info?.workers ?? 1), 0);
  }

  /** Runs fn for every input across the servers; every outcome, success or failure, in input order. */
  mapSettled<I, R>(
    inputs: readonly I[],
    fn: TaskRunner<I, R>,
    options: MapOptions = {},
  ): Promise<Outcome<R>[]> {
    return schedule(inputs, options.servers ?? [...this.servers], fn, {
      retries: this.options.retries,
      membership: options.servers ? undefined : this.#membership,
      ...options,
      onEvent: options.onEvent ?? this.options.onEvent,
    });
  }

  /** Like mapSettled, but throws the first failure (in input order) after all have finished. */
  async map<I, R>(inputs: readonly I[], fn: TaskRunner<I, R>, options: MapOptions = {}): Promise<R[]> {
    const outcomes = await this.mapSettled(inputs, fn, options);
    return outcomes.map((outcome) => {
      if (!outcome.ok) throw outcome.error;
      return outcome.value;
    });
  }

  /** Like mapSettled, but yields outcomes as they complete (Dask's as_completed, Pool.imap_unordered). */
  asCompleted<I, R>(
    inputs: readonly I[],
    fn: TaskRunner<I, R>,
    options: MapOptions = {},
  ): AsyncIterable<Outcome<R>> {
    return asCompletedOutcomes<R>(
      (onOutcome, signal) =>
        this.mapSettled(inputs, fn, {
          ...options,
          signal,
          onOutcome: onOutcome as (o: Outcome<unknown>) => void,
        }),
      options.signal,
    );
  }

  /** The pool over any ts-proto grpc-js service definition: typed map, asCompleted and apply of its methods. */
  service<D extends ServiceDefinitionOf>(definition: D, options?: ServiceOptions): ServicePool<D> {
    return new ServicePool(this, definition, options);
  }

  /** Runs one call on the least busy server, with failover. */
  apply<R>(
    fn: (server: ServerConnection, signal: AbortSignal) => Promise<R>,
    options: MapOptions = {},
  ): Promise<R> {
    if (options.signal?.aborted) {
      return Promise.reject(new ClientError(status.CANCELLED, "cancelled by the caller"));
    }
    return applyOne(options.servers ?? this.servers, fn, {
      retries: options.retries ?? this.options.retries,
      signal: options.signal,
      onEvent: options.onEvent ?? this.options.onEvent,
    });
  }

  columnSums(file: string, read?: TableReadOptions, controls: CallControls = {}): Promise<ColumnSumsResult> {
    return this.apply(
      (server, signal) => columnSumsCall(server, file, read, { ...controls, signal }),
      controls,
    );
  }

  weightedMeans(
    file: string,
    weights: number[],
    divisor?: DivisorName,
    read?: TableReadOptions,
    controls: CallControls = {},
  ): Promise<WeightedMeansResult> {
    return this.apply(
      (server, signal) => weightedMeansCall(server, file, weights, divisor, read, { ...controls, signal }),
      controls,
    );
  }

  circles(radii: number[], pi?: number, controls: CallControls = {}) {
    return this.apply((server, signal) => circlesCall(server, radii, pi, { ...controls, signal }), controls);
  }

  means(lists: number[][], controls: CallControls = {}) {
    return this.apply((server, signal) => meansCall(server, lists, { ...controls, signal }), controls);
  }

  sleep(milliseconds: number, controls: CallControls = {}) {
    return this.apply((server, signal) => sleepCall(server, milliseconds, { ...controls, signal }), controls);
  }

  spin(iterations: number, controls: CallControls = {}) {
    return this.apply((server, signal) => spinCall(server, iterations, { ...controls, signal }), controls);
  }

  /** Closes every channel and stops the local servers this pool started. */
  async close(): Promise<void> {
    this.#discovery?.stop();
    for (const server of this.servers) server.close();
    await Promise.all(this.#local.map((server) => server.stop()));
    this.#local = [];
  }
}

/** Connects to each address (Info within 5 s); unreachable ones are skipped with a warning. */
async function connectAll(
  addresses: string[],
  options: ConnectOptions,
  failures: ClientError[] = [],
): Promise<ServerConnection[]> {
  const security = options.security ?? {};
  const credentials = channelCredentials(security);
  const metadata = callMetadata(security);
  const connections = addresses.map(
    (address) => new ServerConnection(address, credentials, metadata, options.channelOptions),
  );
  const hellos = await Promise.allSettled(connections.map((connection) => connection.hello()));
  hellos.forEach((hello, i) => {
    if (hello.status === "rejected") {
      connections[i]!.close();
      const error = ClientError.from(hello.reason);
      failures.push(error);
      options.onWarning?.(`skipping ${addresses[i]}: ${error.codeName}: ${error.details}`);
    }
  });
  return connections.filter((_, i) => hellos[i]!.status === "fulfilled");
}
