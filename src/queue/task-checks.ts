import { Status } from "../rpc/grpc-status.js";
import type { TaskData } from "./job-keys.js";
import { type QueueLimits, tooLarge } from "./queue-limits.js";

/**
 * What a worker checks of a task before it runs it. Whatever is in Redis was written by whoever
 * can write there, not necessarily by `JobQueue.submit`: a worker runs only its queue's own
 * method, only inputs within the queue's limits (counted before anything is decoded), and fails
 * a task whose record is not what submit writes, with a reason, instead of leaving it active.
 */

/** Why a task is refused: its status, recorded as each of its tasks' outcome. */
export class TaskRefusal extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** The field a malformed BullMQ job's data is replaced with, carrying why (see saneJobHash). */
const malformedMark = "rpcpoolMalformed";

/**
 * A BullMQ job's hash as Redis gave it to the worker (field, value, ...), made safe for BullMQ to
 * decode: `data` or `opts` that are not JSON would throw inside BullMQ's fetch, leaving the job
 * active with nobody working on it. Such a job gets empty options and data saying why, which
 * checkedTaskData refuses, so BullMQ fails it with the reason.
 */
export function saneJobHash(fields: unknown): void {
  if (!Array.isArray(fields)) return;
  let why: string | undefined;
  let dataAt = -1;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = String(fields[i]);
    if (name !== "data" && name !== "opts") continue;
    if (name === "data") dataAt = i + 1;
    try {
      JSON.parse(String(fields[i + 1]));
    } catch {
      why ??= `its ${name} in Redis ${name === "opts" ? "are" : "is"} not JSON`;
      if (name === "opts") fields[i + 1] = "{}";
    }
  }
  if (!why) return;
  const marked = JSON.stringify({ [malformedMark]: why });
  if (dataAt >= 0) fields[dataAt] = marked;
  else fields.push("data", marked);
}

/**
 * The task data of a BullMQ job taken from `method`'s queue, checked: what submit writes
 * (src/queue/job-queue.ts), its tasks' own method, under the BullMQ id submit gives it, and inline
 * inputs within the limits (by their base64 length, before decoding). Throws TaskRefusal.
 */
export function checkedTaskData(
  data: unknown,
  bullId: string | undefined,
  method: string,
  limits: QueueLimits,
): TaskData {
  const record = data as Partial<TaskData> & { [malformedMark]?: string };
  const malformed = (why: string) =>
    new TaskRefusal(Status.INVALID_ARGUMENT, `the task's record is malformed: ${why}; refused`);
  if (typeof record !== "object" || record === null) throw malformed("its data is not an object");
  if (typeof record[malformedMark] === "string") throw malformed(record[malformedMark]);
  const { job, tasks } = record;
  if (typeof job !== "string" || job === "") throw malformed("no job id");
  if (!Array.isArray(tasks) || tasks.length === 0) throw malformed("no tasks");
  for (const task of tasks) {
    if (typeof task !== "object" || task === null || !Number.isSafeInteger(task.index) || task.index < 0)
      throw malformed("a task without an index");
    if (task.inline !== undefined && !(Array.isArray(task.inline) && task.inline.every(isString)))
      throw malformed("a task's input is not a list of base64 strings");
  }
  if (record.reduce !== undefined && (record.reduce !== true || tasks.length !== 1))
    throw malformed("a reduce step of more than one task");
  if (bullId !== `${job}-${tasks[0]!.index}`) throw malformed(`its id ${bullId} is not its job's`);
  if (record.method !== method) {
    throw new TaskRefusal(
      Status.PERMISSION_DENIED,
      `the task names ${String(record.method)} but is on the queue of ${method}: a queue runs only its own method; refused`,
    );
  }
  // (A job's inputs in lists are counted one task at a time, as each runs: the worker holds one.)
  let jobBytes = 0;
  for (const task of tasks) {
    if (!task.inline) continue;
    const bytes = task.inline.reduce((n: number, b: string) => n + base64Bytes(b), 0);
    checkTaskBytes(bytes, `task ${task.index + 1}`, limits);
    jobBytes += bytes;
    if (jobBytes > limits.maxJobBytes) throw refusedSize(tooLarge("the job", jobBytes, limits.maxJobBytes));
  }
  return record as TaskData;
}

/** Refuses a task's input over the queue's per-task limit. */
export function checkTaskBytes(bytes: number, what: string, limits: QueueLimits): void {
  if (bytes > limits.maxTaskBytes) throw refusedSize(tooLarge(what, bytes, limits.maxTaskBytes));
}

function refusedSize(error: { code: number; details: string }): TaskRefusal {
  return new TaskRefusal(error.code, error.details);
}

/** The bytes a base64 string decodes to, at most (no decoding). */
const base64Bytes = (text: string) => Math.floor((text.length * 3) / 4);

const isString = (value: unknown): value is string => typeof value === "string";
