import { availableParallelism } from "node:os";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import type { InvokeResult } from "../gen/rpcpool/pool/v1/batch.js";
import { BatchServiceDefinition } from "../gen/rpcpool/pool/v1/batch.js";
import { InfoServiceDefinition } from "../gen/rpcpool/pool/v1/info.js";
import { SessionServiceDefinition } from "../gen/rpcpool/pool/v1/session.js";
import { StatsServiceDefinition } from "../gen/rpcpool/pool/v1/stats.js";
import { StoreServiceDefinition } from "../gen/rpcpool/pool/v1/store.js";
import type { MethodSpec } from "../rpc/method-spec.js";
import { checkLabels, type Labels } from "../rpc/server-labels.js";
import { batchHandler, batchInvoke, defaultMaxBatchItems } from "./batch-service.js";
import { CallGuard, type GuardOptions, tolerantDeserializers } from "./call-guard.js";
import { CallLimit } from "./call-limit.js";
import { CallStats } from "./call-stats.js";
import { CallTracker } from "./call-tracker.js";
import { type ConnectionLimits, defaultConnectionLimits, limitConnections } from "./connection-limits.js";
import { ConnectionTable } from "./connection-table.js";
import { Health } from "./health.js";
import {
  type FrameworkService,
  type HostedService,
  resolveFramework,
  resolveService,
  type ServiceTools,
} from "./hosted-service.js";
import { raiseReceiveWindows } from "./http2-window.js";
import { serverIdentity } from "./identity.js";
import { hostInfo, infoHandler } from "./info-service.js";
import { invokeLocal, type LocalCallContext } from "./local-call.js";
import { MethodRegistry } from "./method-registry.js";
import type { ServerObserver } from "./metrics/server-observer.js";
import { addReflection } from "./reflection.js";
import { SessionHost, type SessionHostOptions } from "./session-service.js";
import { hostStats, statsHandler } from "./stats-service.js";
import { storeService } from "./store-service.js";
import { ValueStore, type ValueStoreOptions } from "./value-store.js";
import { WorkerPool } from "./worker-pool.js";

export interface ServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** HOST:PORT (`[::1]:0` for IPv6) instead of host and port: `startServer({ address: "127.0.0.1:0" })`. */
  address?: string;
  /** Worker threads; default one per core. */
  workers?: number;
  /**
   * Priorities' aging on the worker threads (docs/scheduling.md): a waiting task goes before any
   * priority once it has waited this many mean task times. Default 8.
   */
  maxPriorityWaitFactor?: number;
  /** Name stamped on replies; default HOST:PORT. */
  name?: string;
  /**
   * Labels of this server (`--label gpu=1`), shown in Info and Stats: clients' `require` and
   * `prefer` are matched against them (docs/scheduling.md). Keys: letters, digits, `_ . - /`.
   */
  labels?: Labels;
  /** The services to host, besides the framework's own (InfoService, BatchService, health, reflection). */
  services?: HostedService[];
  /** TLS or mutual TLS (see tls.ts); plaintext by default. */
  credentials?: ServerCredentials;
  /** Token, deadline cap and bounds on calls in flight, checked on every call (docs/limits.md). */
  guard?: GuardOptions;
  /** Most items one batch may carry (default 10,000). */
  maxBatchItems?: number;
  /**
   * Connections at once, from one address, and the time a new one has for its preface (default
   * 1,000, 100 and 5 s); see connection-limits.ts for who makes room for a new one.
   */
  connections?: Partial<Omit<ConnectionLimits, "maxIdleMs">>;
  /** A connection without calls for this long is closed (GOAWAY; clients reconnect); default 10 min. */
  maxConnectionIdleMs?: number;
  /**
   * The server pings each connection after this long and closes it when no answer comes within
   * `keepaliveTimeoutMs` (default 60 s and 20 s): a vanished client's calls and sessions end.
   */
  keepaliveMs?: number;
  keepaliveTimeoutMs?: number;
  /** Largest message the server accepts (default 64 MiB); larger ones get RESOURCE_EXHAUSTED. */
  maxMessageBytes?: number;
  /** Where the server writes what an operator should see (bugs with their stacks); default stderr. */
  log?: (message: string) => void;
  /** Bounds on sessions: objects on the server, sessions per connection, unsent bytes (docs/sessions.md). */
  sessions?: SessionHostOptions;
  /** The value store of broadcast, scattered and kept values (docs/collectives.md): its bound and idle time. */
  store?: ValueStoreOptions;
  /** Metrics (`--metrics`: src/host/metrics): an interceptor, batch items, and the state read on each scrape. */
  observer?: ServerObserver;
}

/** An idle connection holds a descriptor and its windows' memory: closed after 10 minutes. */
export const defaultMaxConnectionIdleMs = 600_000;

/**
 * A client that vanished (its process stopped, its link cut) does not answer the server's ping:
 * its connection is closed, and its calls, sessions and objects end, within 80 s. grpc-js sends
 * none by default. Clients take server pings at any rate (only servers police pings).
 */
export const defaultKeepaliveMs = 60_000;
export const defaultKeepaliveTimeoutMs = 20_000;

/** Calls in flight on one server, all connections and batch items together (health Watches apart), unless told otherwise. */
export const defaultMaxCalls = 10_000;

/**
 * A log that says at most `perWindow` lines per window, then how many it left out: a client
 * sending garbage in a loop must not flood the server's log (or its disk).
 */
function rateLimitedLog(log: (message: string) => void, perWindow = 10, windowMs = 10_000) {
  let windowStart = 0;
  let said = 0;
  let skipped = 0;
  return (message: string) => {
    const now = Date.now();
    if (now - windowStart >= windowMs) {
      if (skipped > 0) log(`(${skipped} more such lines left out)`);
      windowStart = now;
      said = 0;
      skipped = 0;
    }
    if (said < perWindow) {
      said++;
      log(message);
    } else skipped++;
  };
}

/** HOST:PORT as host and port; a TypeError names what is wrong with it. */
function splitAddress(address: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new TypeError(`address ${JSON.stringify(address)} is not HOST:PORT`);
  return { host: match[1] ?? match[2]!, port };
}

export interface RunningServer {
  /** HOST:PORT it listens on, with the port it was given. */
  address: string;
  host: string;
  port: number;
  name: string;
  /** Full names of the services it hosts, the framework's first. */
  services: string[];
  /** Sessions open and objects alive in them now (docs/sessions.md). */
  sessions(): { sessions: number; objects: number };
  /** The server's value store (docs/collectives.md). */
  store: ValueStore;
  /** Stops taking calls (health NOT_SERVING), lets calls in flight finish, then stops. */
  close(graceMs?: number): Promise<void>;
  /** The hosted methods with one reply (unary, client-streaming), which `invoke` runs. */
  localMethods(): MethodSpec[];
  /**
   * Runs a hosted method in this process through its own handler (same limits, worker threads
   * and errors as a gRPC call), requests and reply as proto bytes: what a queue worker does.
   */
  invoke(path: string, requests: Buffer[], context?: Partial<LocalCallContext>): Promise<InvokeResult>;
}

/**
 * Starts a gRPC server hosting `services` beside the framework's own: InfoService (what the server
 * is and hosts), BatchService (many calls of any hosted unary method in one round trip),
 * SessionService, StoreService (values by handle: docs/collectives.md), health and reflection. Every call passes the guard; CPU work runs on one pool of worker threads.
 */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const listen: { host?: string; port?: number } =
    options.address === undefined ? {} : splitAddress(options.address);
  const host = listen.host ?? options.host ?? "127.0.0.1";
  const listenPort = listen.port ?? options.port ?? 0;
  const log = options.log ?? ((message: string) => process.stderr.write(`${message}\n`));
  // Checked before anything starts: a bad key is the caller's mistake, a TypeError naming it.
  const labels = Object.freeze({ ...checkLabels(options.labels ?? {}) });
  const workers = new WorkerPool(options.workers ?? availableParallelism(), {
    maxPriorityWaitFactor: options.maxPriorityWaitFactor,
  });
  const tracker = new CallTracker();
  const stats = new CallStats();
  const identity = serverIdentity(options.name ?? "");
  const registry = new MethodRegistry();
  const store = new ValueStore(options.store);
  const deps = { tracker, log };
  const startedAt = Date.now();
  const maxMessageBytes = options.maxMessageBytes ?? 64 << 20;
  const info = () =>
    hostInfo({ identity, tracker, registry, workers: workers.threads, maxMessageBytes, startedAt, labels });
  const limit = new CallLimit({
    maxCalls: options.guard?.maxCalls ?? defaultMaxCalls,
    maxCallsPerConnection: options.guard?.maxCallsPerConnection,
    maxCallsPerClient: options.guard?.maxCallsPerClient,
  });
  const malformedLog = rateLimitedLog(log);
  const maxConnectionIdleMs = options.maxConnectionIdleMs ?? defaultMaxConnectionIdleMs;
  const connectionLimits = {
    ...defaultConnectionLimits,
    ...options.connections,
    maxIdleMs: maxConnectionIdleMs,
  };
  const connectionTable = new ConnectionTable(connectionLimits);
  const guard = new CallGuard(
    options.guard ?? {},
    limit,
    (path, details) => malformedLog(`${path}: refused a malformed request (${details})`),
    connectionTable,
  );
  const batchDeps = {
    ...deps,
    registry,
    identity,
    limit,
    stats,
    maxItems: options.maxBatchItems ?? defaultMaxBatchItems,
    observer: options.observer,
  };
  const batch = batchHandler(batchDeps);
  const sessions = new SessionHost(
    { ...deps, identity },
    {
      maxCallsPerSession: options.guard?.maxCallsPerConnection,
      maxDeadlineMs: options.guard?.maxDeadlineMs,
      ...options.sessions,
    },
  );
  const tools: ServiceTools = {
    runOnWorker: (module, exportName, args, runOptions) => workers.run(module, exportName, args, runOptions),
    identity,
    workers: workers.threads,
    log,
    info,
    batch: batchInvoke(batchDeps),
    store,
  };
  const framework: FrameworkService[] = [
    { definition: InfoServiceDefinition, handlers: { info: infoHandler(deps, info) } },
    { definition: BatchServiceDefinition, handlers: { invoke: batch } },
    { definition: SessionServiceDefinition, handlers: { open: sessions.open } },
    { definition: StoreServiceDefinition, handlers: storeService({ ...deps, store, registry }) },
    {
      definition: StatsServiceDefinition,
      handlers: {
        stats: statsHandler(deps, () =>
          hostStats({ identity, stats, startedAt, labels, workers, store, sessions: () => sessions.stats() }),
        ),
      },
    },
  ];
  const hosted: HostedService[] = options.services ?? [];
  const server = new Server({
    "grpc.max_receive_message_length": maxMessageBytes,
    "grpc.max_send_message_length": 64 << 20,
    "grpc.max_connection_idle_ms": maxConnectionIdleMs,
    "grpc.keepalive_time_ms": options.keepaliveMs ?? defaultKeepaliveMs,
    "grpc.keepalive_timeout_ms": options.keepaliveTimeoutMs ?? defaultKeepaliveTimeoutMs,
    // The observer first: it sees the calls the guard refuses too.
    interceptors: options.observer ? [options.observer.interceptor, guard.interceptor] : [guard.interceptor],
  });
  const bindHost = host.includes(":") ? `[${host}]` : host;
  let health: Health;
  let port: number;
  try {
    for (const service of hosted) if (service.sessionClass) sessions.addClass(service, tools);
    const handlerDeps = { ...deps, tools, clients: workers.clients };
    const services = [
      ...framework.map(resolveFramework),
      ...hosted
        .filter((service) => service.implementation || !service.sessionClass)
        .map((service) => resolveService(service, tools, handlerDeps)),
    ];
    for (const service of services) {
      // Counted for StatsService: the same handlers answer gRPC calls and batch items.
      const implementation = stats.wrap(service.methods, service.implementation);
      server.addService(tolerantDeserializers(service.methods), implementation);
      registry.add(service.methods, implementation, service.direct);
    }
    health = new Health(services.map((service) => service.name));
    health.addToServer(server);
    addReflection(
      server,
      hosted.flatMap((service) => service.protoFiles ?? []),
      hosted.flatMap((service) => service.includeDirs ?? []),
    );
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        `${bindHost}:${listenPort}`,
        options.credentials ?? ServerCredentials.createInsecure(),
        (error, bound) => (error ? reject(error) : resolve(bound)),
      ),
    );
  } catch (error) {
    // A bad service or a taken port must not leave worker threads behind.
    store.close();
    await workers.close();
    throw error;
  }
  raiseReceiveWindows(server);
  const connections = limitConnections(server, connectionLimits, connectionTable);
  const address = `${bindHost}:${port}`;
  identity.server = options.name ?? address;
  options.observer?.attach({
    callsInFlight: () => limit.inFlight,
    refusals: () => ({ ...limit.refused, max_connections: connectionTable.refused }),
    workers: workers.threads,
    workerTasksRunning: () => workers.running,
    workerTasksWaiting: () => workers.waiting(),
    store: () => ({ bytes: store.bytes, values: store.size, evicted: store.counters.evicted }),
    sessions: () => sessions.stats(),
    connections: () => connectionTable.size,
  });

  let closing: Promise<void> | undefined;
  const close = (graceMs = 30_000) => {
    closing ??= (async () => {
      health.drain();
      // A Watch never ends by itself: after its NOT_SERVING, end it, or it holds the drain.
      guard.endWatches();
      sessions.drain();
      // Before grpc-js's GOAWAYs: each connection closes once its calls are done, not when its client says.
      connections.closeWhenDone();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          log(`calls still in flight after ${graceMs} ms: forcing shutdown`);
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      connections.stop();
      store.close();
      await workers.close();
    })();
    return closing;
  };
  return {
    address,
    host,
    port,
    name: identity.server,
    services: health.services,
    sessions: () => sessions.stats(),
    store,
    close,
    localMethods: () => registry.singleReply(),
    invoke: (path, requests, context = {}) =>
      invokeLocal(registry, path, requests, { ...context, peer: context.peer ?? "local" }),
  };
}
