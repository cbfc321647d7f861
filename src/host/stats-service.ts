import type { handleUnaryCall } from "@grpc/grpc-js";
import type { StatsServiceStatsRequest, StatsServiceStatsResponse } from "../gen/rpcpool/pool/v1/stats.js";
import { version } from "../version.js";
import type { CallStats } from "./call-stats.js";
import { type HandlerDeps, unary } from "./handlers.js";
import type { ServerIdentity } from "./identity.js";

export interface StatsDeps {
  identity: ServerIdentity;
  stats: CallStats;
  /** Date.now() when the server started. */
  startedAt: number;
  /** The server's labels (--label), shown by `rpcpool top`. */
  labels: Readonly<Record<string, string>>;
  workers: { threads: number; running: number; waitingTotal: number };
  store: { bytes: number; size: number };
  sessions: () => { sessions: number; objects: number };
}

/** What the server has been doing (`rpcpool top`, `rpcpool dashboard`): its own counters, now. */
export function hostStats(deps: StatsDeps): StatsServiceStatsResponse {
  const now = Date.now();
  const open = deps.sessions();
  return {
    server: deps.identity.server,
    version,
    uptimeS: (now - deps.startedAt) / 1000,
    labels: { ...deps.labels },
    workers: deps.workers.threads,
    workersBusy: Math.min(deps.workers.running, deps.workers.threads),
    queuedTasks: deps.workers.waitingTotal,
    callsInFlight: deps.stats.inFlight,
    completed: deps.stats.completed,
    failed: deps.stats.failed,
    storeBytes: deps.store.bytes,
    storeValues: deps.store.size,
    sessions: open.sessions,
    sessionObjects: open.objects,
    nowUnixMs: now,
    ...deps.stats.window(now),
  };
}

/** rpcpool.pool.v1.StatsService/Stats. */
export function statsHandler(
  deps: HandlerDeps,
  stats: () => StatsServiceStatsResponse,
): handleUnaryCall<StatsServiceStatsRequest, StatsServiceStatsResponse> {
  return unary(deps, async () => stats());
}
