import type { ComputeServiceServer } from "../../gen/rpcpool/compute/v1/compute.js";
import { Divisor } from "../../gen/rpcpool/compute/v1/compute.js";
import { clientStream, type HandlerDeps, unary } from "../../host/handlers.js";
import { type ServerIdentity, servedBy } from "../../host/identity.js";
import { invalidArgument } from "../../host/server-error.js";
import { circles } from "../compute/circles.js";
import { meansOfLists } from "../compute/means-of-lists.js";
import { finishMeans } from "../compute/merge-pieces.js";
import type { DataRoot } from "./data-root.js";
import { openTableCall, sumTable, type TableLimits, weighTable } from "./table-stream.js";
import type { WorkerPool } from "./table-worker-pool.js";

export interface ComputeDeps extends HandlerDeps {
  pool: WorkerPool;
  identity: ServerIdentity;
  limits?: TableLimits;
  /** Where remote paths resolve; undefined: this server serves no files. */
  dataRoot?: DataRoot;
}

/** The lesson's computations behind rpcpool.compute.v1.ComputeService. */
export function computeService(deps: ComputeDeps): ComputeServiceServer {
  return {
    columnSums: clientStream(deps, async (requests, context) => {
      const { call } = await openTableCall(requests, (first) => first.options, deps.dataRoot);
      const {
        merger: merged,
        bytes,
        threadId,
      } = await sumTable(call, deps.pool, context.signal, deps.limits);
      return {
        rows: merged.rows,
        columns: merged.columns,
        sums: merged.sums(),
        exact: merged.exactPartials().map((partials: number[]) => ({ partials })),
        servedBy: servedBy(deps.identity, threadId),
        lines: merged.lines,
        bytes,
      };
    }),

    weightedMeans: clientStream(deps, async (requests, context) => {
      const { call, first } = await openTableCall(
        requests,
        (message) => message.options?.table,
        deps.dataRoot,
      );
      const options = first.options!;
      const weights = Float64Array.from(options.weights);
      weights.forEach((w, i) => {
        if (!Number.isFinite(w))
          throw invalidArgument(`${call.fileName}: weight ${i + 1} is not a finite number`);
      });
      const {
        merger: merged,
        bytes,
        threadId,
      } = await weighTable(call, weights, deps.pool, context.signal, deps.limits);
      if (merged.rows !== weights.length) {
        throw invalidArgument(
          `${call.fileName}: ${merged.rows} rows but ${weights.length} weights (one weight per row is needed)`,
          { file: call.fileName, rows: String(merged.rows), weights: String(weights.length) },
        );
      }
      const byRows = options.divisor === Divisor.DIVISOR_ROWS;
      const weightedPartials = merged.weightedPartials();
      const weightPartials = merged.weightPartials();
      return {
        rows: merged.rows,
        columns: merged.columns,
        means: finishMeans(weightedPartials, byRows ? merged.rows : weightPartials),
        weightedSums: weightedPartials.map((partials: number[]) => ({ partials })),
        weightSum: { partials: weightPartials },
        servedBy: servedBy(deps.identity, threadId),
        lines: merged.lines,
        bytes,
      };
    }),

    circles: unary(deps, async (request) => ({
      ...circles(request.radii, request.pi === 0 ? Math.PI : request.pi),
      servedBy: servedBy(deps.identity),
    })),

    means: unary(deps, async (request) => ({
      means: meansOfLists(request.lists.map((list) => list.values)),
      servedBy: servedBy(deps.identity),
    })),
  };
}
