import { availableParallelism } from "node:os";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import type { DemoServiceServer } from "../../gen/rpcpool/compute/v1/demo.js";
import type { CallTracker } from "../../host/call-tracker.js";
import { type HandlerDeps, unary } from "../../host/handlers.js";
import { type ServerIdentity, servedBy } from "../../host/identity.js";
import { invalidArgument } from "../../host/server-error.js";
import type { WorkerPool } from "./table-worker-pool.js";

export interface DemoDeps extends HandlerDeps {
  pool: WorkerPool;
  identity: ServerIdentity;
  tracker: CallTracker;
  version: string;
  dataRoot: boolean;
  startedAt: number;
}

/** Caps keep a demo call from tying a server up: an hour of sleep, 10^12 iterations of spin. */
const maxSleepMs = 3_600_000;
const maxSpin = 1e12;

/** The lesson's timing demos and the server's self-description. */
export function demoService(deps: DemoDeps): DemoServiceServer {
  return {
    sleep: unary(deps, async (request, context) => {
      if (request.milliseconds > maxSleepMs) throw invalidArgument(`sleep is capped at ${maxSleepMs} ms`);
      const start = performance.now();
      // The lesson's sleep holds no CPU: it waits on a timer, so it needs no worker thread.
      await sleep(request.milliseconds, undefined, { signal: context.signal });
      return { servedBy: servedBy(deps.identity), elapsedMs: performance.now() - start };
    }),

    spin: unary(deps, async (request, context) => {
      if (request.iterations > maxSpin) throw invalidArgument(`spin is capped at ${maxSpin} iterations`);
      const result = await deps.pool.run({ kind: "spin", iterations: request.iterations }, context.signal);
      return {
        count: result.count,
        servedBy: servedBy(deps.identity, result.threadId),
        elapsedMs: result.elapsedMs,
      };
    }),

    info: unary(deps, async () => ({
      server: deps.identity.server,
      host: deps.identity.host,
      pid: deps.identity.pid,
      cores: availableParallelism(),
      workers: deps.pool.threads,
      version: deps.version,
      // This Info call itself is in flight; it is not work.
      callsInFlight: deps.tracker.inFlight - 1,
      callsTotal: deps.tracker.total,
      dataRoot: deps.dataRoot,
      uptimeS: (Date.now() - deps.startedAt) / 1000,
      rssBytes: process.memoryUsage.rss(),
      // maxRSS is in kibibytes.
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
    })),
  };
}
