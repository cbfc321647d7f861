import { ExactAccumulatorServiceDefinition } from "../../gen/rpcpool/compute/v1/accumulator.js";
import { DemoServiceDefinition } from "../../gen/rpcpool/compute/v1/demo.js";
import { BatchServiceDefinition } from "../../gen/rpcpool/pool/v1/batch.js";
import type { HostedService, ServiceTools } from "../../host/hosted-service.js";
import { protoRoot } from "../../host/reflection.js";
import { type MethodSpec, methodsOf } from "../../rpc/method-spec.js";
import { type ComputeOptions, computeService, tableWork } from "./compute-service.js";
import { DataRoot } from "./data-root.js";
import { demoService } from "./demo-service.js";
import { exactAccumulator } from "./exact-accumulator.js";
import { hostedComputeDefinition } from "./large-requests.js";
import { defaultTableLimits, type TableLimits, type TableWork } from "./table-stream.js";

export interface LessonOptions {
  /** Serve the files under this folder to clients that name them (remote paths). */
  dataRoot?: string;
  tableLimits?: TableLimits;
  /** Metrics (the server's --metrics): bytes and rows of each table call that finished. */
  tables?: ComputeOptions["tables"];
}

/** The lesson's contract, for reflection (relative to the package's proto/ folder). */
const protoFiles = [
  "rpcpool/compute/v1/table.proto",
  "rpcpool/compute/v1/compute.proto",
  "rpcpool/compute/v1/demo.proto",
  "rpcpool/compute/v1/batch.proto",
  "rpcpool/compute/v1/accumulator.proto",
];

/**
 * rpcpool.compute.v1.BatchService/Invoke, deprecated: the host's rpcpool.pool.v1 batch under its
 * 0.1 name, for clients built against 0.1. The messages are wire-compatible (the same fields and
 * numbers; a 0.1 client skips the newer `status_details`).
 */
const legacyBatchDefinition: Record<string, MethodSpec> = {
  invoke: { ...methodsOf(BatchServiceDefinition).invoke!, path: "/rpcpool.compute.v1.BatchService/Invoke" },
};

/**
 * The lesson's services, hosted as any user's are: ComputeService (the tables, circles, means),
 * DemoService (the timing demos, and the deprecated Info), the deprecated BatchService, and the
 * ExactAccumulatorService session class (running exact sums of tables pulled from the client).
 * Async because the data root is checked first: a bad folder fails before a server starts.
 */
export async function lessonServices(options: LessonOptions = {}): Promise<HostedService[]> {
  const dataRoot = options.dataRoot === undefined ? undefined : await DataRoot.open(options.dataRoot);
  const reflection = { protoFiles, includeDirs: [protoRoot()] };
  const limits = options.tableLimits ?? defaultTableLimits;
  // One server's table calls and accumulators share its piece slots: memory stays bounded.
  const works = new WeakMap<ServiceTools, TableWork>();
  const workOf = (tools: ServiceTools) => {
    if (!works.has(tools)) works.set(tools, tableWork(tools, limits));
    return works.get(tools)!;
  };
  return [
    {
      definition: hostedComputeDefinition,
      implementation: (tools) =>
        computeService(tools, { limits, dataRoot, work: workOf(tools), tables: options.tables }),
      ...reflection,
    },
    {
      definition: DemoServiceDefinition,
      implementation: (tools) => demoService(tools, { dataRoot: dataRoot !== undefined }),
      ...reflection,
    },
    {
      definition: legacyBatchDefinition,
      implementation: (tools) => ({ invoke: tools.batch }),
      ...reflection,
    },
    {
      definition: ExactAccumulatorServiceDefinition,
      sessionClass: (tools) => exactAccumulator({ tools, work: workOf(tools), limits }),
      ...reflection,
    },
  ];
}
