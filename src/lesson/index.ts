/**
 * rpcpool/lesson: the lesson's calculator, rpcpool's first application, built on the public core
 * as any user's service is. Its contract is proto/rpcpool/compute/v1.
 */

export {
  type AddTableRequest,
  type AddTableResponse,
  ExactAccumulatorServiceDefinition,
  type InitRequest as AccumulatorInitRequest,
  type NextChunkRequest,
  type NextChunkResponse,
  ProgressServiceDefinition,
  type ReportRequest,
  type RunningSums,
  TableSourceServiceDefinition,
} from "../gen/rpcpool/compute/v1/accumulator.js";
// ---- The contract: generated definitions (both ts-proto forms) and messages ---------------------
export * from "../gen/rpcpool/compute/v1/compute.js";
export {
  DemoServiceDefinition,
  type SleepRequest,
  type SleepResponse,
  type SpinRequest,
  type SpinResponse,
} from "../gen/rpcpool/compute/v1/demo.js";
export { ExactSum as ExactSumMessage, ServedBy, TableOptions } from "../gen/rpcpool/compute/v1/table.js";
// ---- The lesson's performance vocabulary: speed-up, efficiency, Karp-Flatt, Amdahl, Gustafson ----
export * from "../metrics/speedup.js";
// ---- The client side ----------------------------------------------------------------------------
export { type AccumulatedTable, type AccumulateOptions, accumulateTables } from "./client/accumulate.js";
export {
  type ColumnSumsTotal,
  columnSumsTotal,
  mergeColumnSumsOp,
  reduceColumnSums,
} from "./client/column-sums-total.js";
export { LessonClient, sleepTimeoutMs } from "./client/lesson-client.js";
export { computeMethods, demoMethods, lessonMethodDefaults } from "./client/lesson-methods.js";
export {
  circlesOutcome,
  columnSumsOutcome,
  columnSumsTotalOutcome,
  type LessonJobDocument,
  lessonDocument,
  meansOutcome,
  submitCircles,
  submitColumnSums,
  submitMeans,
  submitWeightedMeans,
  type TableSubmitOptions,
  weightedMeansOutcome,
} from "./client/queue-jobs.js";
export { parseSplit, planSplit, type SplitMode } from "./client/split-plan.js";
export {
  type ColumnSumsResult,
  columnSumsCall,
  type DivisorName,
  type StoredWeights,
  type TableCallOptions,
  type TablePart,
  type WeightedMeansResult,
  weightedMeansCall,
  weightsBytes,
} from "./client/table-calls.js";
export { fileChunks, type TableReadOptions } from "./client/table-input.js";
export {
  columnSumsJob,
  type TableJobOptions,
  type TableJobResult,
  type WeightsOptions,
  weightedMeansJob,
} from "./client/table-job.js";
export type { FileOutcome, TableTask } from "./client/table-tasks.js";
export { lessonColumnSums, lessonTableBytes } from "./compute/lesson-table.js";
export { computeServiceDefinition } from "./compute-definition.js";
export { ensureLessonTables, lessonFileNames } from "./data/lesson-tables.js";
// ---- The server side and the data -----------------------------------------------------------------
export { type LessonOptions, lessonServices } from "./host/lesson-services.js";

import { ComputeServiceDefinition as Compute } from "../gen/rpcpool/compute/v1/compute.js";
import { DemoServiceDefinition as Demo } from "../gen/rpcpool/compute/v1/demo.js";
import { grpcServiceOf } from "../rpc/method-spec.js";

/**
 * The lesson's services in grpc-js's form (`XxxServiceService`, as ts-proto's outputServices=grpc-js
 * has it), derived from the generated generic definitions, which carry the proto's options.
 */
export const ComputeServiceService = grpcServiceOf(Compute);
export const DemoServiceService = grpcServiceOf(Demo);
