import type {
  CirclesRequest,
  MeansRequest,
  MergeColumnSumsRequest,
  WeightedMeansOptions,
} from "../../gen/rpcpool/compute/v1/compute.js";
import {
  type ColumnSumsRequest,
  Divisor,
  type WeightedMeansRequest,
} from "../../gen/rpcpool/compute/v1/compute.js";
import type { CallContext } from "../../host/call-context.js";
import type { ServiceTools } from "../../host/hosted-service.js";
import { servedBy } from "../../host/identity.js";
import { invalidArgument } from "../../rpc/server-error.js";
import { finishMeans, weightCountMismatch } from "../compute/merge-pieces.js";
import { ByteBudget } from "./byte-budget.js";
import type { DataRoot } from "./data-root.js";
import {
  EncodedReply,
  EncodedRequest,
  type HostedComputeHandlers,
  type LargeMethod,
} from "./large-requests.js";
import { PieceSlots } from "./piece-slots.js";
import { refusing } from "./refusing.js";
import { circlesReply, meansReply, mergeReply, smallReplies } from "./small-replies.js";
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
  /** Metrics (the server's --metrics): bytes and rows of each table call that finished. */
  tables?: { tableProcessed(bytes: number, rows: number): void };
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
    buffered: new ByteBudget(limits.maxBufferBytes, limits.stallTimeoutMs),
    run: tools.runOnWorker,
  };
}

/** The lesson's computations behind rpcpool.compute.v1.ComputeService. */
export function computeService(tools: ServiceTools, options: ComputeOptions): HostedComputeHandlers {
  const { identity } = tools;
  const work = options.work ?? tableWork(tools, options.limits);
  return {
    columnSums: async (requests: AsyncIterable<ColumnSumsRequest>, context) => {
      const { call, first } = await openTableCall(
        requests,
        (message) => message.options,
        options.dataRoot,
        undefined,
        tools.store,
      );
      const { merger: merged, bytes, threadId } = await sumTable(call, work, context, options.limits);
      options.tables?.tableProcessed(bytes, merged.rows);
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
    },

    weightedMeans: async (requests: AsyncIterable<WeightedMeansRequest>, context) => {
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
      } = await weighTable(call, weights, work, context, options.limits);
      options.tables?.tableProcessed(bytes, merged.rows);
      if (merged.rows !== weights.length) {
        throw invalidArgument(weightCountMismatch(call.fileName, merged.rows, weights.length), {
          reason: "WEIGHT_COUNT_MISMATCH",
          fields: { file: call.fileName, rows: String(merged.rows), weights: String(weights.length) },
        });
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
    },

    mergeColumnSums: async (request: MergeColumnSumsRequest | EncodedRequest, context) =>
      request instanceof EncodedRequest
        ? onWorker("mergeColumnSums", request, context)
        : mergeReply(request, servedBy(identity)),

    circles: async (request: CirclesRequest | EncodedRequest, context) =>
      request instanceof EncodedRequest
        ? onWorker("circles", request, context)
        : circlesReply(request, servedBy(identity)),

    means: async (request: MeansRequest | EncodedRequest, context) =>
      request instanceof EncodedRequest
        ? onWorker("means", request, context)
        : meansReply(request, servedBy(identity)),
  };

  /** A large request, decoded and answered on a worker thread (see large-requests.ts). */
  async function onWorker(method: LargeMethod, request: EncodedRequest, context: CallContext) {
    // A reply is bounded by what this server may send and its clients accept (Info says it).
    const maxReplyBytes = tools.info().maxMessageBytes;
    const bytes = await tools.runOnWorker<Uint8Array>(
      smallReplies,
      "replyTo",
      [method, request.bytes, servedBy(identity), maxReplyBytes],
      { signal: context.signal },
    );
    return new EncodedReply(bytes);
  }
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

/** The weights, once each is known to be a finite number (else INVALID_ARGUMENT naming it). */
function finiteWeights<W extends ArrayLike<number>>(weights: W, fileName: string): W {
  for (let i = 0; i < weights.length; i++) {
    if (!Number.isFinite(weights[i]!))
      throw invalidArgument(`${fileName}: weight ${i + 1} is not a finite number`);
  }
  return weights;
}
