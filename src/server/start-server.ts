import { availableParallelism } from "node:os";
import {
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { ComputeServiceService } from "../gen/rpcpool/compute/v1/compute.js";
import { DemoServiceService } from "../gen/rpcpool/compute/v1/demo.js";
import { version } from "../version.js";
import { CallTracker } from "./call-tracker.js";
import { computeService } from "./compute-service.js";
import { DataRoot } from "./data-root.js";
import { demoService } from "./demo-service.js";
import { Health } from "./health.js";
import { raiseReceiveWindows } from "./http2-window.js";
import { addReflection } from "./reflection.js";
import { serverIdentity } from "./served-by.js";
import { defaultTableLimits, type TableLimits } from "./table-call.js";
import { WorkerPool } from "./worker-pool.js";

/** A user service hosted beside the built-in ones. */
export interface HostedService {
  /** Full name, e.g. "acme.stats.v1.StatsService", for health. */
  name: string;
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
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

export const builtInServiceNames = ["rpcpool.compute.v1.ComputeService", "rpcpool.compute.v1.DemoService"];

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
    "grpc.max_receive_message_length": 64 << 20,
    "grpc.max_send_message_length": 64 << 20,
  });
  const extra = options.services ?? [];
  const health = new Health([...builtInServiceNames, ...extra.map((service) => service.name)]);
  server.addService(ComputeServiceService, computeService(deps) as never);
  server.addService(
    DemoServiceService,
    demoService({ ...deps, version, dataRoot: dataRoot !== undefined, startedAt: Date.now() }) as never,
  );
  for (const service of extra) server.addService(service.definition, service.implementation);
  health.addToServer(server);
  addReflection(server);

  const bindHost = host.includes(":") ? `[${host}]` : host;
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        `${bindHost}:${options.port ?? 0}`,
        ServerCredentials.createInsecure(),
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
      await pool.close();
    })();
    return closing;
  };
  return { address, host, port, name: identity.server, close };
}
