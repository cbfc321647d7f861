import type { CirclesResponse, MeansResponse } from "../../gen/rpcpool/compute/v1/compute.js";
import { Divisor } from "../../gen/rpcpool/compute/v1/compute.js";
import type { TaskOutcome } from "../../queue/job-keys.js";
import type { JobHandle, JobQueue, JobResult, SubmitOptions, TaskInput } from "../../queue/job-queue.js";
import { tooLarge } from "../../queue/queue-limits.js";
import { ClientError } from "../../rpc/client-error.js";
import { Status } from "../../rpc/grpc-status.js";
import type { MethodSpec } from "../../rpc/method-spec.js";
import type { ColumnSumsTotal } from "./column-sums-total.js";
import { computeMethods } from "./lesson-methods.js";
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
 * handler as a gRPC call; the outcomes decode to the same results as the synchronous jobs'.
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

export interface TableSubmitOptions extends Omit<SubmitOptions, "kind" | "document"> {
  read?: TableReadOptions;
  /** FILEs are paths under each server's --data-root: only paths travel. */
  remote?: boolean;
}

const served = "the queue";

/**
 * A table's task: its options message, then its bytes in the chunk messages a client streams
 * (none for a remote path). A file that cannot be read is a task failed already, with the
 * error the synchronous command gives it.
 */
async function tableTask(
  queue: JobQueue,
  method: MethodSpec,
  file: string,
  first: Record<string, unknown>,
  remote: boolean,
): Promise<TaskInput> {
  const requests = [method.requestSerialize(first)];
  if (remote) return { method: method.path, requests };
  const source = await inspectInput(file);
  if (source.kind === "unreadable") {
    return { failed: { code: source.error.code, message: source.error.details } };
  }
  const size = source.kind === "file" ? source.snapshot.size : source.bytes;
  if (size > queue.limits.maxTaskBytes) throw tooLarge(file, size, queue.limits.maxTaskBytes);
  try {
    const chunks =
      source.kind === "stream" ? source.content : fileChunks(file, 0, undefined, source.snapshot);
    for await (const chunk of chunks) requests.push(method.requestSerialize({ chunk }));
  } catch (error) {
    const e = ClientError.from(error);
    return { failed: { code: e.code, message: e.details } };
  }
  return { method: method.path, requests };
}

/**
 * Submits the column sums of `files`: one task per file; with `total`, their exact total too, by
 * MergeColumnSums as the job's reduce step once every file is done (a BullMQ flow).
 */
export async function submitColumnSums(
  queue: JobQueue,
  files: string[],
  options: TableSubmitOptions & { total?: boolean } = {},
): Promise<JobHandle> {
  const read = options.read ?? {};
  const remote = options.remote ?? false;
  const method = computeMethods.columnSums!;
  const tasks: TaskInput[] = [];
  for (const file of files) {
    tasks.push(
      await tableTask(queue, method, file, { options: tableOptions(file, { read, remote }) }, remote),
    );
  }
  const total = options.total ?? false;
  const document: LessonJobDocument = { command: "column-sums", files, read, remote, total };
  const then = total ? computeMethods.mergeColumnSums!.path : undefined;
  return queue.submit(tasks, { ...options, kind: document.command, document, then });
}

/** Submits the weighted means of `files`, each with all the weights (one per data row). */
export async function submitWeightedMeans(
  queue: JobQueue,
  files: string[],
  weights: number[],
  options: TableSubmitOptions & { divisor?: DivisorName } = {},
): Promise<JobHandle> {
  const read = options.read ?? {};
  const remote = options.remote ?? false;
  const divisor = options.divisor ?? "weights";
  const method = computeMethods.weightedMeans!;
  const tasks: TaskInput[] = [];
  for (const file of files) {
    const first = {
      options: {
        table: tableOptions(file, { read, remote }),
        weights,
        divisor: divisor === "rows" ? Divisor.DIVISOR_ROWS : Divisor.DIVISOR_WEIGHTS,
      },
    };
    tasks.push(await tableTask(queue, method, file, first, remote));
  }
  const document: LessonJobDocument = { command: "weighted-means", files, read, remote, divisor };
  return queue.submit(tasks, { ...options, kind: document.command, document });
}

/** Submits the circles of `radii` (one task, as the synchronous command makes one call). */
export function submitCircles(
  queue: JobQueue,
  radii: number[],
  pi?: number,
  options: SubmitOptions = {},
): Promise<JobHandle> {
  const request = computeMethods.circles!.requestSerialize({ radii, pi: pi ?? 0 });
  const document: LessonJobDocument = { command: "circles", radii, pi };
  return queue.submit([{ method: computeMethods.circles!.path, requests: [request] }], {
    ...options,
    kind: document.command,
    document,
  });
}

/** Submits the means of `lists` (one task). */
export function submitMeans(
  queue: JobQueue,
  lists: number[][],
  options: SubmitOptions = {},
): Promise<JobHandle> {
  const request = computeMethods.means!.requestSerialize({ lists: lists.map((values) => ({ values })) });
  const document: LessonJobDocument = { command: "means", lists };
  return queue.submit([{ method: computeMethods.means!.path, requests: [request] }], {
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

/** A task's reply decoded, or its status as the ClientError a call would have thrown. */
function decoded<T>(outcome: TaskOutcome, method: MethodSpec, check: (reply: T) => void): T {
  if (!outcome.ok) throw new ClientError(outcome.code, outcome.message);
  const reply = method.responseDeserialize(outcome.response) as T;
  check(reply);
  return reply;
}

function perFile<R>(result: JobResult, decode: (outcome: TaskOutcome, file: string) => R): TableJobResult<R> {
  const { files } = lessonDocument(result) as { files: string[] };
  return {
    files: result.outcomes.map((outcome, i) => {
      try {
        return { ok: true as const, value: decode(outcome, files[i]!) };
      } catch (error) {
        return { ok: false as const, error: ClientError.from(error) };
      }
    }),
    retried: [],
  };
}

/** A column-sums job's outcomes as the synchronous job gives them. */
export function columnSumsOutcome(result: JobResult): TableJobResult<ColumnSumsResult> {
  const method = computeMethods.columnSums!;
  return perFile(result, (outcome, file) => {
    const reply = decoded(outcome, method, (r: ReturnType<typeof method.responseDeserialize>) =>
      checkColumnSums(served, r, { exactOnly: false }),
    );
    return columnSumsResult(file, reply);
  });
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
  try {
    const method = computeMethods.mergeColumnSums!;
    const reply = decoded(result.reduce, method, (r: ReturnType<typeof method.responseDeserialize>) =>
      checkColumnSums(served, r, { exactOnly: false }),
    );
    return { ok: true, value: { rows: reply.rows, columns: reply.columns, sums: reply.sums } };
  } catch (error) {
    return { ok: false, error: ClientError.from(error) };
  }
}

/** A weighted-means job's outcomes as the synchronous job gives them. */
export function weightedMeansOutcome(result: JobResult): TableJobResult<WeightedMeansResult> {
  const method = computeMethods.weightedMeans!;
  return perFile(result, (outcome, file) => {
    const reply = decoded(outcome, method, (r: ReturnType<typeof method.responseDeserialize>) =>
      checkWeightedMeans(served, r, { exactOnly: false }),
    );
    return weightedMeansResult(file, reply);
  });
}

/** A circles job's reply; its refusal thrown as the ClientError the call gives. */
export function circlesOutcome(result: JobResult): CirclesResponse {
  const document = lessonDocument(result) as { radii: number[]; pi?: number };
  const request = { radii: document.radii, pi: document.pi ?? 0 };
  return decoded<CirclesResponse>(result.outcomes[0]!, computeMethods.circles!, (reply) =>
    lessonReplyCheck("circles", request, reply, served),
  );
}

/** A means job's reply; its refusal thrown as the ClientError the call gives. */
export function meansOutcome(result: JobResult): MeansResponse {
  const document = lessonDocument(result) as { lists: number[][] };
  const request = { lists: document.lists.map((values) => ({ values })) };
  return decoded<MeansResponse>(result.outcomes[0]!, computeMethods.means!, (reply) =>
    lessonReplyCheck("means", request, reply, served),
  );
}
