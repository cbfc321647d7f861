import { status } from "@grpc/grpc-js";
import { circles } from "../compute/circles.js";
import { meansOfLists } from "../compute/means-of-lists.js";
import { finishMeans } from "../compute/merge-pieces.js";
import { Float64Overflow, ZeroDivisor } from "../exact/refusals.js";
import type { ComputeServiceServer } from "../gen/rpcpool/compute/v1/compute.js";
import { Divisor } from "../gen/rpcpool/compute/v1/compute.js";
import type { DataRoot } from "./data-root.js";
import { clientStream, type HandlerDeps, unary } from "./handlers.js";
import { type ServerIdentity, servedBy } from "./served-by.js";
import { invalidArgument, ServerError } from "./server-error.js";
import { openTableCall, sumTable, type TableLimits, weighTable } from "./table-call.js";
import type { WorkerPool } from "./worker-pool.js";

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
      const { call, first } = await openTableCall(requests, (first) => first.options, deps.dataRoot);
      const {
        merger: merged,
        bytes,
        threadId,
      } = await sumTable(call, deps.pool, context.signal, deps.limits);
      return {
        rows: merged.rows,
        columns: merged.columns,
        sums: first.options!.exactOnly ? [] : refusingNumbers(() => merged.sums(), call.fileName),
        exact: merged.exactSums(),
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
      const weightedSums = merged.weightedSums();
      const weightSum = merged.weightSum();
      return {
        rows: merged.rows,
        columns: merged.columns,
        means: options.table!.exactOnly
          ? []
          : refusingNumbers(() => finishMeans(weightedSums, byRows ? merged.rows : weightSum), call.fileName),
        weightedSums,
        weightSum,
        servedBy: servedBy(deps.identity, threadId),
        lines: merged.lines,
        bytes,
      };
    }),

    circles: unary(deps, async (request) => ({
      ...refusingNumbers(() => circles(request.radii, request.pi === 0 ? Math.PI : request.pi)),
      servedBy: servedBy(deps.identity),
    })),

    means: unary(deps, async (request) => ({
      means: refusingNumbers(() => meansOfLists(request.lists.map((list) => list.values))),
      servedBy: servedBy(deps.identity),
    })),
  };
}

/** The exact computations' typed refusals as gRPC statuses, naming the file when there is one. */
function refusingNumbers<T>(compute: () => T, fileName?: string): T {
  try {
    return compute();
  } catch (error) {
    const prefix = fileName ? `${fileName}: ` : "";
    const fields: Record<string, string> = fileName ? { file: fileName } : {};
    if (error instanceof Float64Overflow) {
      if (error.column !== undefined) fields.column = String(error.column);
      throw new ServerError(status.OUT_OF_RANGE, prefix + error.message, fields);
    }
    if (error instanceof ZeroDivisor) throw invalidArgument(prefix + error.message, fields);
    throw error;
  }
}
