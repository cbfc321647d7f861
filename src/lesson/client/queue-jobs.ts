import type {
  CirclesResponse,
  ColumnSumsResponse,
  MeansResponse,
  WeightedMeansResponse,
} from "../../gen/rpcpool/compute/v1/compute.js";
import {
  type ColumnSumsRequest,
  ComputeServiceDefinition,
  Divisor,
  type WeightedMeansRequest,
} from "../../gen/rpcpool/compute/v1/compute.js";
import type { JobQueue, JobResult, SubmitOptions } from "../../queue/job-queue.js";
import { tooLarge } from "../../queue/queue-limits.js";
import {
  decodedOutcome,
  FailedInput,
  type ServiceJob,
  type ServiceQueueOptions,
  type TaskResult,
} from "../../queue/service-queue.js";
import { ClientError } from "../../rpc/client-error.js";
import { Status } from "../../rpc/grpc-status.js";
import { methodsOf } from "../../rpc/method-spec.js";
import type { ColumnSumsTotal } from "./column-sums-total.js";
import { checkColumnSums, checkWeightedMeans, lessonReplyCheck } from "./lesson-replies.js";
import {
  type ColumnSumsResult,
  columnSumsResult,
  type DivisorName,
  tableOptions,
  type WeightedMeansResult,
  weightedMeansResult,
} from "./table-calls.js";
import { fileChunks, inspectInput, type TableReadOptions } from "./table-input.js";
import type { TableJobResult } from "./table-job.js";

/**
 * The lesson's commands as durable jobs (docs/queue.md): each input file (or the one list of
 * radii or of lists) is a task, run by whichever server of the queue takes it, through the same
 * handler as a gRPC call. They go through the typed queue every service uses,
 * `queue.service(ComputeServiceDefinition)`: the definition encodes the requests and decodes the
 * replies; what is the lesson's here is only which files make which tasks and the replies' checks.
 */

/** What a lesson job was asked: kept with the job, so that `result` can print the command's document. */
export type LessonJobDocument =
  | { command: "column-sums"; files: string[]; read: TableReadOptions; remote: boolean; total?: boolean }
  | {
      command: "weighted-means";
      files: string[];
      read: TableReadOptions;
      remote: boolean;
      divisor: DivisorName;
    }
  | { command: "circles"; radii: number[]; pi?: number }
  | { command: "means"; lists: number[][] };

export interface TableSubmitOptions extends Omit<SubmitOptions, "kind" | "document" | "then"> {
  read?: TableReadOptions;
  /** FILEs are paths under each server's --data-root: only paths travel. */
  remote?: boolean;
}

type LessonSubmitOptions = Omit<SubmitOptions, "kind" | "document" | "then">;

const served = "the queue";

/** The lesson's service on a queue; its methods' codecs are the definition's. */
const compute = (queue: JobQueue) => queue.service(ComputeServiceDefinition);
const methods = methodsOf(ComputeServiceDefinition);

/**
 * A table's task input: its options message, then its bytes in the chunk messages a client streams
 * (none for a remote path). A file that cannot be read is a task failed already, with the error
 * the synchronous command gives it; one over the queue's limit refuses the whole submit.
 */
async function tableInput<R extends ColumnSumsRequest | WeightedMeansRequest>(
  queue: JobQueue,
  file: string,
  first: R,
  remote: boolean,
): Promise<R[] | FailedInput> {
  const requests = [first];
  if (remote) return requests;
  const source = await inspectInput(file);
  if (source.kind === "unreadable") return new FailedInput(source.error.code, source.error.details);
  const size = source.kind === "file" ? source.snapshot.size : source.bytes;
  if (size > queue.limits.maxTaskBytes) throw tooLarge(file, size, queue.limits.maxTaskBytes);
  try {
    const chunks =
      source.kind === "stream" ? source.content : fileChunks(file, 0, undefined, source.snapshot);
    for await (const chunk of chunks) requests.push({ chunk } as R);
  } catch (error) {
    return FailedInput.of(error);
  }
  return requests;
}

/**
 * Submits the column sums of `files`: one task per file; with `total`, their exact total too, by
 * MergeColumnSums as the job's reduce step once every file is done (a BullMQ flow).
 */
export async function submitColumnSums(
  queue: JobQueue,
  files: string[],
  options: TableSubmitOptions & { total?: boolean } = {},
): Promise<ServiceJob<ColumnSumsResponse, ColumnSumsResponse>> {
  const { read = {}, remote = false, total = false, ...controls } = options;
  const inputs: Array<ColumnSumsRequest[] | FailedInput> = [];
  for (const file of files) {
    inputs.push(await tableInput(queue, file, { options: tableOptions(file, { read, remote }) }, remote));
  }
  const document: LessonJobDocument = { command: "column-sums", files, read, remote, total };
  const then = total ? ("mergeColumnSums" as const) : undefined;
  return compute(queue).submit("columnSums", inputs, {
    ...controls,
    kind: document.command,
    document,
    then,
  });
}

/** Submits the weighted means of `files`, each with all the weights (one per data row). */
export async function submitWeightedMeans(
  queue: JobQueue,
  files: string[],
  weights: number[],
  options: TableSubmitOptions & { divisor?: DivisorName } = {},
): Promise<ServiceJob<WeightedMeansResponse>> {
  const { read = {}, remote = false, divisor = "weights", ...controls } = options;
  const inputs: Array<WeightedMeansRequest[] | FailedInput> = [];
  for (const file of files) {
    const first: WeightedMeansRequest = {
      options: {
        table: tableOptions(file, { read, remote }),
        weights,
        divisor: divisor === "rows" ? Divisor.DIVISOR_ROWS : Divisor.DIVISOR_WEIGHTS,
        weightsHandle: "",
        weightsOffset: 0,
        weightsCount: 0,
      },
    };
    inputs.push(await tableInput(queue, file, first, remote));
  }
  const document: LessonJobDocument = { command: "weighted-means", files, read, remote, divisor };
  return compute(queue).submit("weightedMeans", inputs, { ...controls, kind: document.command, document });
}

/** Submits the circles of `radii` (one task, as the synchronous command makes one call). */
export function submitCircles(
  queue: JobQueue,
  radii: number[],
  pi?: number,
  options: LessonSubmitOptions = {},
): Promise<ServiceJob<CirclesResponse>> {
  const document: LessonJobDocument = { command: "circles", radii, pi };
  return compute(queue).submit("circles", [{ radii, pi: pi ?? 0 }], {
    ...options,
    kind: document.command,
    document,
  });
}

/** Submits the means of `lists` (one task). */
export function submitMeans(
  queue: JobQueue,
  lists: number[][],
  options: LessonSubmitOptions = {},
): Promise<ServiceJob<MeansResponse>> {
  const document: LessonJobDocument = { command: "means", lists };
  return compute(queue).submit("means", [{ lists: lists.map((values) => ({ values })) }], {
    ...options,
    kind: document.command,
    document,
  });
}

/** The document a lesson job was submitted with; a job of something else is refused. */
export function lessonDocument(result: JobResult): LessonJobDocument {
  const document = result.document as LessonJobDocument | undefined;
  const known = ["column-sums", "weighted-means", "circles", "means"];
  if (!document || !known.includes(document.command)) {
    throw new ClientError(
      Status.FAILED_PRECONDITION,
      `job ${result.id} is a ${result.kind} job, not one of the lesson's`,
    );
  }
  return document;
}

/** A task's reply decoded by the definition and checked, or its failure thrown as the call's ClientError. */
function value<T>(outcome: TaskResult<T>): T {
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** A lesson reply check as the typed queue takes it (the reply alone). */
const checked =
  <T>(check: (reply: T) => void): ServiceQueueOptions["checkReply"] =>
  (_method, reply) =>
    check(reply as T);

function perFile<R>(
  result: JobResult,
  decode: (outcome: JobResult["outcomes"][number], index: number, file: string) => R,
): TableJobResult<R> {
  const { files } = lessonDocument(result) as { files: string[] };
  return {
    files: result.outcomes.map((outcome, i) => {
      try {
        return { ok: true as const, value: decode(outcome, i, files[i]!) };
      } catch (error) {
        return { ok: false as const, error: ClientError.from(error) };
      }
    }),
    retried: [],
  };
}

/** A column-sums job's outcomes as the synchronous job gives them. */
export function columnSumsOutcome(result: JobResult): TableJobResult<ColumnSumsResult> {
  const check = checked((r: ColumnSumsResponse) => checkColumnSums(served, r, { exactOnly: false }));
  return perFile(result, (outcome, index, file) =>
    columnSumsResult(
      file,
      value(decodedOutcome<ColumnSumsResponse>(outcome, methods.columnSums, index, check)),
    ),
  );
}

/**
 * A column-sums job's total (`total`), as the synchronous `column-sums --total` gives it: refused
 * the same way when a file failed or two files' widths differ, else the reduce step's exact merge.
 * Undefined for a job submitted without it.
 */
export function columnSumsTotalOutcome(
  result: JobResult,
  files: TableJobResult<ColumnSumsResult>,
): { ok: true; value: ColumnSumsTotal } | { ok: false; error: ClientError } | undefined {
  if (!result.reduce) return undefined;
  const failed = files.files.filter((o) => !o.ok).length;
  if (failed > 0) {
    const message = `no total: ${failed} of ${files.files.length} files have no column sums`;
    return { ok: false, error: new ClientError(Status.FAILED_PRECONDITION, message) };
  }
  const withRows = files.files.flatMap((o) => (o.ok && o.value.rows > 0 ? [o.value] : []));
  const first = withRows[0];
  const other = withRows.find((r) => r.columns !== first?.columns);
  if (first && other) {
    const message = `no total: ${first.file} has ${first.columns} columns and ${other.file} has ${other.columns}`;
    return { ok: false, error: new ClientError(Status.INVALID_ARGUMENT, message) };
  }
  if (!first) return { ok: true, value: { rows: 0, columns: 0, sums: [] } };
  const check = checked((r: ColumnSumsResponse) => checkColumnSums(served, r, { exactOnly: false }));
  const reply = decodedOutcome<ColumnSumsResponse>(
    result.reduce,
    methods.mergeColumnSums,
    result.outcomes.length,
    check,
  );
  if (!reply.ok) return reply;
  return {
    ok: true,
    value: { rows: reply.value.rows, columns: reply.value.columns, sums: reply.value.sums },
  };
}

/** A weighted-means job's outcomes as the synchronous job gives them. */
export function weightedMeansOutcome(result: JobResult): TableJobResult<WeightedMeansResult> {
  const check = checked((r: WeightedMeansResponse) => checkWeightedMeans(served, r, { exactOnly: false }));
  return perFile(result, (outcome, index, file) =>
    weightedMeansResult(
      file,
      value(decodedOutcome<WeightedMeansResponse>(outcome, methods.weightedMeans, index, check)),
    ),
  );
}

/** A circles job's reply; its refusal thrown as the ClientError the call gives. */
export function circlesOutcome(result: JobResult): CirclesResponse {
  const document = lessonDocument(result) as { radii: number[]; pi?: number };
  const request = { radii: document.radii, pi: document.pi ?? 0 };
  const check = checked((r: CirclesResponse) => lessonReplyCheck("circles", request, r, served));
  return value(decodedOutcome<CirclesResponse>(result.outcomes[0]!, methods.circles, 0, check));
}

/** A means job's reply; its refusal thrown as the ClientError the call gives. */
export function meansOutcome(result: JobResult): MeansResponse {
  const document = lessonDocument(result) as { lists: number[][] };
  const request = { lists: document.lists.map((values) => ({ values })) };
  const check = checked((r: MeansResponse) => lessonReplyCheck("means", request, r, served));
  return value(decodedOutcome<MeansResponse>(result.outcomes[0]!, methods.means, 0, check));
}
