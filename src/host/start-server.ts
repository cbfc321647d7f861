import { availableParallelism } from "node:os";
import {
  type handleUnaryCall,
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { BatchServiceService } from "../gen/rpcpool/compute/v1/batch.js";
import { DemoServiceService } from "../gen/rpcpool/compute/v1/demo.js";
import { computeServiceDefinition } from "../lesson/compute-definition.js";
import { computeService } from "../lesson/host/compute-service.js";
import { DataRoot } from "../lesson/host/data-root.js";
import { demoService } from "../lesson/host/demo-service.js";
import { defaultTableLimits, type TableLimits } from "../lesson/host/table-stream.js";
import { WorkerPool } from "../lesson/host/table-worker-pool.js";
import { version } from "../version.js";
import { batchService } from "./batch-service.js";
import type { CallContext } from "./call-context.js";
import { callGuard, type GuardOptions } from "./call-guard.js";
import { CallTracker } from "./call-tracker.js";
import { unary } from "./handlers.js";
import { Health } from "./health.js";
import { raiseReceiveWindows } from "./http2-window.js";
import { type ServerIdentity, serverIdentity } from "./identity.js";
import { MethodRegistry } from "./method-registry.js";
import { addReflection } from "./reflection.js";
import { UserWorkerPool } from "./worker-pool.js";

/** What a user service gets from the server it runs in. */
export interface ServiceTools {
  /** Wraps an async function as a unary handler: errors, cancellation and draining as for built-ins. */
  unary<Req, Res>(fn: (request: Req, context: CallContext) => Promise<Res>): handleUnaryCall<Req, Res>;
  /** Calls `exportName(...args)` of a module on the server's worker threads (aborting stops it). */
  runOnWorker<T>(
    module: string | URL,
    exportName: string,
    args?: unknown[],
    signal?: AbortSignal,
  ): Promise<T>;
  /** Who this server is, for replies that say which server computed them. */
  identity: ServerIdentity;
}

/** A user service hosted beside the built-in ones. */
export interface HostedService {
  /** Full name, e.g. "acme.stats.v1.StatsService", for health. */
  name: string;
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation | ((tools: ServiceTools) => UntypedServiceImplementation);
  /** The service's .proto files (relative to includeDirs), for server reflection. */
  protoFiles?: string[];
  includeDirs?: string[];
}

export interface ServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Worker threads; default one per core. */
  workers?: number;
  /** Name stamped on replies; default HOST:PORT. */
  name?: string;
  services?: HostedService[];
  tableLimits?: TableLimits;
  /** Serve files under this folder to clients that name them (remote paths). */
  dataRoot?: string;
  /** TLS or mutual TLS (see tls.ts); plaintext by default. */
  credentials?: ServerCredentials;
  /** Token, deadline cap and per-connection bound, checked on every call. */
  guard?: GuardOptions;
  /** Largest message the server accepts (default 64 MiB); larger ones get RESOURCE_EXHAUSTED. */
  maxMessageBytes?: number;
  log?: (message: string) => void;
}

export interface RunningServer {
  /** HOST:PORT it listens on, with the port it was given. */
  address: string;
  host: string;
  port: number;
  name: string;
  /** Stops taking calls (health NOT_SERVING), lets calls in flight finish, then stops. */
  close(graceMs?: number): Promise<void>;
}

export const builtInServiceNames = [
  "rpcpool.compute.v1.ComputeService",
  "rpcpool.compute.v1.DemoService",
  "rpcpool.compute.v1.BatchService",
];

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const host = options.host ?? "127.0.0.1";
  const log = options.log ?? ((message: string) => process.stderr.write(`${message}\n`));
  // Checked first: a bad folder must not leave worker threads behind.
  const dataRoot = options.dataRoot === undefined ? undefined : await DataRoot.open(options.dataRoot);
  const pool = new WorkerPool(options.workers ?? availableParallelism());
  const tracker = new CallTracker();
  const identity = serverIdentity(options.name ?? "");
  const deps = { pool, tracker, identity, log, limits: options.tableLimits ?? defaultTableLimits, dataRoot };
  const server = new Server({
    "grpc.max_receive_message_length": options.maxMessageBytes ?? 64 << 20,
    "grpc.max_send_message_length": 64 << 20,
    interceptors: options.guard ? [callGuard(options.guard)] : [],
  });
  const extra = options.services ?? [];
  const health = new Health([...builtInServiceNames, ...extra.map((service) => service.name)]);
  const registry = new MethodRegistry();
  const userWorkers = new UserWorkerPool(pool.threads);
  const tools: ServiceTools = {
    unary: (fn) => unary(deps, fn),
    runOnWorker: (module, exportName, args, signal) => userWorkers.run(module, exportName, args, signal),
    identity,
  };
  const hostService = (definition: ServiceDefinition, implementation: UntypedServiceImplementation) => {
    server.addService(definition, implementation);
    registry.add(definition, implementation);
  };
  hostService(computeServiceDefinition, computeService(deps) as unknown as UntypedServiceImplementation);
  hostService(
    DemoServiceService,
    demoService({
      ...deps,
      version,
      dataRoot: dataRoot !== undefined,
      startedAt: Date.now(),
    }) as unknown as UntypedServiceImplementation,
  );
  for (const service of extra) {
    const implementation =
      typeof service.implementation === "function" ? service.implementation(tools) : service.implementation;
    hostService(service.definition, implementation);
  }
  server.addService(
    BatchServiceService,
    batchService({ ...deps, registry }) as unknown as UntypedServiceImplementation,
  );
  health.addToServer(server);
  addReflection(
    server,
    extra.flatMap((service) => service.protoFiles ?? []),
    extra.flatMap((service) => service.includeDirs ?? []),
  );

  const bindHost = host.includes(":") ? `[${host}]` : host;
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        `${bindHost}:${options.port ?? 0}`,
        options.credentials ?? ServerCredentials.createInsecure(),
        (error, bound) => (error ? reject(error) : resolve(bound)),
      ),
    );
  } catch (error) {
    await pool.close();
    throw error;
  }
  raiseReceiveWindows(server);
  const address = `${bindHost}:${port}`;
  identity.server = options.name ?? address;

  let closing: Promise<void> | undefined;
  const close = (graceMs = 30_000) => {
    closing ??= (async () => {
      health.drain();
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
      await Promise.all([pool.close(), userWorkers.close()]);
    })();
    return closing;
  };
  return { address, host, port, name: identity.server, close };
}
