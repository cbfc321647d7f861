import { status } from "@grpc/grpc-js";
import { Float64Overflow, ZeroDivisor } from "../../exact/refusals.js";
import type {
  CirclesRequest,
  ComputeServiceDefinition,
  MeansRequest,
  MergeColumnSumsRequest,
  WeightedMeansOptions,
} from "../../gen/rpcpool/compute/v1/compute.js";
import {
  type ColumnSumsRequest,
  Divisor,
  type WeightedMeansRequest,
} from "../../gen/rpcpool/compute/v1/compute.js";
import type { ServiceHandlers, ServiceTools } from "../../host/hosted-service.js";
import { servedBy } from "../../host/identity.js";
import { invalidArgument, ServerError } from "../../rpc/server-error.js";
import { mergeColumnSums } from "../compute/merge-column-sums.js";
import { finishMeans } from "../compute/merge-pieces.js";
import { circles, meansOfLists, RefusedInput } from "../compute/small-computations.js";
import { ByteBudget } from "./byte-budget.js";
import type { DataRoot } from "./data-root.js";
import { PieceSlots } from "./piece-slots.js";
import {
  defaultTableLimits,
  openTableCall,
  type StoredValues,
  sumTable,
  type TableLimits,
  type TableWork,
  weighTable,
} from "./table-stream.js";

export interface ComputeOptions {
  limits: TableLimits;
  /** Where remote paths resolve; undefined: this server serves no files. */
  dataRoot?: DataRoot;
  /** The server's table work, shared with the exact accumulator; default: its own. */
  work?: TableWork;
}

/**
 * A slot holds a piece: about 1 MiB plus the rest of the chunk it ended in. Two pieces per worker
 * thread keep one table call at full speed; four per thread serve calls at once, and bound the
 * server's memory whatever the number of clients streaming (see piece-slots.ts).
 */
const pieceSlotBytes = 3 << 19;
const slotsPerWorker = 4;

/** What table calls of one server share: its worker threads and its slots for pieces in flight. */
export function tableWork(tools: ServiceTools, limits: TableLimits = defaultTableLimits): TableWork {
  return {
    threads: tools.workers,
    pieces: new PieceSlots(pieceSlotBytes, tools.workers * slotsPerWorker),
    buffered: new ByteBudget(limits.maxBufferBytes),
    run: tools.runOnWorker,
  };
}

/** The lesson's computations behind rpcpool.compute.v1.ComputeService. */
export function computeService(
  tools: ServiceTools,
  options: ComputeOptions,
): ServiceHandlers<typeof ComputeServiceDefinition> {
  const { identity } = tools;
  const work = options.work ?? tableWork(tools, options.limits);
  return {
    columnSums: tools.clientStream(async (requests: AsyncIterable<ColumnSumsRequest>, context) => {
      const { call, first } = await openTableCall(
        requests,
        (message) => message.options,
        options.dataRoot,
        undefined,
        tools.store,
      );
      const { merger: merged, bytes, threadId } = await sumTable(call, work, context.signal, options.limits);
      return {
        rows: merged.rows,
        columns: merged.columns,
        // A part of a split file: the client rounds (and refuses) the merged file, not each part.
        sums: first.options!.exactOnly ? [] : refusing(() => merged.sums(), call.fileName),
        exact: merged.exactSums(),
        servedBy: servedBy(identity, threadId),
        lines: merged.lines,
        bytes,
        columnNames: merged.selectedNames ?? [],
      };
    }),

    weightedMeans: tools.clientStream(async (requests: AsyncIterable<WeightedMeansRequest>, context) => {
      // The weights are checked before a remote file is opened: a refusal leaves nothing open.
      const { call, first } = await openTableCall(
        requests,
        (message) => message.options?.table,
        options.dataRoot,
        // Weights are checked before any file is opened; stored ones (below) once read.
        (message, fileName) => finiteWeights(message.options!.weights, fileName),
        tools.store,
      );
      const weighOptions = first.options!;
      const weights = weighOptions.weightsHandle
        ? finiteWeights(storedWeights(tools.store, weighOptions, call.fileName), call.fileName)
        : Float64Array.from(weighOptions.weights);
      const {
        merger: merged,
        bytes,
        threadId,
      } = await weighTable(call, weights, work, context.signal, options.limits);
      if (merged.rows !== weights.length) {
        throw invalidArgument(
          `${call.fileName}: ${merged.rows} rows but ${weights.length} weights (one weight per row is needed)`,
          {
            reason: "WEIGHT_COUNT_MISMATCH",
            fields: { file: call.fileName, rows: String(merged.rows), weights: String(weights.length) },
          },
        );
      }
      const byRows = weighOptions.divisor === Divisor.DIVISOR_ROWS;
      const weightedSums = merged.weightedSums();
      const weightSum = merged.weightSum();
      return {
        rows: merged.rows,
        columns: merged.columns,
        means: weighOptions.table!.exactOnly
          ? []
          : refusing(() => finishMeans(weightedSums, byRows ? merged.rows : weightSum), call.fileName),
        weightedSums,
        weightSum,
        servedBy: servedBy(identity, threadId),
        lines: merged.lines,
        bytes,
        columnNames: merged.selectedNames ?? [],
      };
    }),

    mergeColumnSums: tools.unary(async (request: MergeColumnSumsRequest) => ({
      ...refusing(() => mergeColumnSums(request.parts)),
      servedBy: servedBy(identity),
    })),

    circles: tools.unary(async (request: CirclesRequest) => ({
      ...refusing(() => circles(request.radii, request.pi === 0 ? Math.PI : request.pi)),
      servedBy: servedBy(identity),
    })),

    means: tools.unary(async (request: MeansRequest) => ({
      means: refusing(() => meansOfLists(request.lists.map((list) => list.values))),
      servedBy: servedBy(identity),
    })),
  };
}

/**
 * A part's weights from the store: little-endian float64s, `weights_count` of them from
 * `weights_offset` (0: all from the offset), padded with zeros where the stored weights end.
 */
function storedWeights(store: StoredValues, options: WeightedMeansOptions, fileName: string): Float64Array {
  if (options.weights.length > 0) {
    throw invalidArgument(`${fileName}: weights travel in the request or by handle, not both`);
  }
  const bytes = store.get(options.weightsHandle);
  if (bytes.byteLength % 8 !== 0) {
    throw invalidArgument(
      `${fileName}: the stored value ${options.weightsHandle} is not float64 weights (${bytes.byteLength} bytes)`,
    );
  }
  const stored = bytes.byteLength / 8;
  const offset = options.weightsOffset;
  const count = options.weightsCount > 0 ? options.weightsCount : Math.max(0, stored - offset);
  const weights = new Float64Array(count);
  for (let i = 0; i < count && offset + i < stored; i++) weights[i] = bytes.readDoubleLE((offset + i) * 8);
  return weights;
}

/**
 * A computation's result, or its refusal as a status, naming the file when there is one: a value
 * beyond float64 is OUT_OF_RANGE, a zero divisor or a refused input INVALID_ARGUMENT. Anything
 * else is a bug (INTERNAL).
 */
export function refusing<T>(compute: () => T, fileName?: string): T {
  try {
    return compute();
  } catch (error) {
    const prefix = fileName ? `${fileName}: ` : "";
    const fields: Record<string, string> = fileName ? { file: fileName } : {};
    if (error instanceof Float64Overflow) {
      if (error.column !== undefined) fields.column = String(error.column);
      throw new ServerError(status.OUT_OF_RANGE, prefix + error.message, {
        errorInfo: { reason: "BEYOND_FLOAT64", domain: "rpcpool", metadata: fields },
      });
    }
    if (error instanceof ZeroDivisor) {
      throw invalidArgument(prefix + error.message, { reason: "ZERO_DIVISOR", fields });
    }
    if (error instanceof RefusedInput) throw invalidArgument(prefix + error.message);
    throw error;
  }
}

/** The weights, once each is known to be a finite number (else INVALID_ARGUMENT naming it). */
function finiteWeights<W extends ArrayLike<number>>(weights: W, fileName: string): W {
  for (let i = 0; i < weights.length; i++) {
    if (!Number.isFinite(weights[i]!))
      throw invalidArgument(`${fileName}: weight ${i + 1} is not a finite number`);
  }
  return weights;
}
