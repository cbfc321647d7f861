import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import type {
  DemoServiceDefinition,
  InfoResponse,
  SleepRequest,
  SpinRequest,
} from "../../gen/rpcpool/compute/v1/demo.js";
import type { ServiceTools } from "../../host/hosted-service.js";
import { servedBy } from "../../host/identity.js";
import type { ServiceImplementation } from "../../host/service-implementation.js";
import { invalidArgument } from "../../rpc/server-error.js";
import { type spin, tableWorker } from "./table-worker.js";

/** Caps keep a demo call from tying a server up: an hour of sleep, 10^12 iterations of spin. */
const maxSleepMs = 3_600_000;
const maxSpin = 1e12;

/** The lesson's timing demos, and the server's self-description as clients of 0.1 ask for it. */
export function demoService(
  tools: ServiceTools,
  options: { dataRoot: boolean },
): ServiceImplementation<typeof DemoServiceDefinition> {
  return {
    sleep: async (request: SleepRequest, context) => {
      if (request.milliseconds > maxSleepMs) throw invalidArgument(`sleep is capped at ${maxSleepMs} ms`);
      const start = performance.now();
      // The lesson's sleep holds no CPU: it waits on a timer, so it needs no worker thread.
      await sleep(request.milliseconds, undefined, { signal: context.signal });
      return { servedBy: servedBy(tools.identity), elapsedMs: performance.now() - start };
    },

    spin: async (request: SpinRequest, context) => {
      if (request.iterations > maxSpin) throw invalidArgument(`spin is capped at ${maxSpin} iterations`);
      const result = await tools.runOnWorker<ReturnType<typeof spin>>(
        tableWorker,
        "spin",
        [request.iterations],
        context.signal,
      );
      return {
        count: result.count,
        servedBy: servedBy(tools.identity, result.threadId),
        elapsedMs: result.elapsedMs,
      };
    },

    /** Deprecated: rpcpool.pool.v1.InfoService/Info replaces it; served for one version. */
    info: async (): Promise<InfoResponse> => {
      const { methods: _, ...info } = tools.info();
      return { ...info, dataRoot: options.dataRoot };
    },
  };
}
