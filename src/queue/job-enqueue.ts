import type { FlowProducer, JobsOptions, Queue } from "bullmq";
import { ClientError } from "../rpc/client-error.js";
import { Status } from "../rpc/grpc-status.js";
import type { TaskChunk } from "./job-chunks.js";
import { type JobMeta, type TaskData, taskJobId, taskQueueName } from "./job-keys.js";
import { bullPriority, defaultKeepMs, type SubmitOptions, type TaskInput } from "./job-types.js";
import { type QueueLimits, tooLarge } from "./queue-limits.js";

/**
 * A job's tasks onto BullMQ's queues (one per method), after its record and inputs are in Redis:
 * checked first against the limits and the controls' ranges, then added with the controls
 * (attempts, back-off, priority, delay, expiry), as a flow when the job has a reduce step.
 */

/** The submission's controls checked: nothing is stored for a job over the limits. */
export function checkedSubmission(
  tasks: TaskInput[],
  options: SubmitOptions,
  limits: QueueLimits,
): { keepMs: number; delayMs: number; priority: number } {
  const keepMs = options.keepMs ?? defaultKeepMs;
  if (!(keepMs >= 1000)) throw new ClientError(Status.INVALID_ARGUMENT, "results must be kept at least 1 s");
  let jobBytes = 0;
  for (const [index, task] of tasks.entries()) {
    if ("failed" in task) continue;
    const bytes = task.requests.reduce((n, b) => n + b.byteLength, 0);
    if (bytes > limits.maxTaskBytes) throw tooLarge(`task ${index + 1}`, bytes, limits.maxTaskBytes);
    jobBytes += bytes;
  }
  if (jobBytes > limits.maxJobBytes) throw tooLarge("the job", jobBytes, limits.maxJobBytes);
  const delayMs = options.delayMs ?? 0;
  if (!(Number.isSafeInteger(delayMs) && delayMs >= 0))
    throw new ClientError(Status.INVALID_ARGUMENT, `the delay is a number of milliseconds, not ${delayMs}`);
  const priority = bullPriority(options.priority);
  return { keepMs, delayMs, priority };
}

export interface EnqueueOptions extends SubmitOptions {
  keepMs: number;
  delayMs: number;
  /** BullMQ's (bullPriority). */
  priority: number;
  /** The queue of a method's tasks for this job (its requirement's, if it has one). */
  queueOf: (method: string) => Queue;
  /** For a job with a reduce step. */
  flows?: FlowProducer;
}

export async function enqueueChunks(
  chunks: TaskChunk[],
  meta: JobMeta,
  options: EnqueueOptions,
): Promise<void> {
  const { id } = meta;
  const { keepMs, delayMs, priority, queueOf, flows } = options;
  const keepS = Math.ceil(keepMs / 1000);
  const byMethod = new Map<string, typeof chunks>();
  for (const chunk of chunks) {
    const group = byMethod.get(chunk.data.method) ?? [];
    group.push(chunk);
    byMethod.set(chunk.data.method, group);
  }
  const options_ = (first: number): JobsOptions => ({
    jobId: taskJobId(id, first),
    attempts: options.attempts ?? 5,
    backoff: { type: "exponential" as const, delay: options.backoffMs ?? 1000 },
    removeOnComplete: { age: keepS },
    removeOnFail: { age: keepS },
    priority,
    ...(delayMs > 0 ? { delay: delayMs } : {}),
  });
  if (meta.reduce && flows) {
    // A BullMQ flow: the reduce step is the parent of the job's tasks, taken once they all
    // completed or failed (a failed one does not hold it back: its outcome says why).
    const { method, index } = meta.reduce;
    await flows.add({
      name: "then",
      queueName: taskQueueName(method, meta.require),
      data: {
        job: id,
        method,
        tasks: [{ index }],
        reduce: true,
        trace: chunks[0]?.data.trace,
      } satisfies TaskData,
      opts: { ...options_(index), delay: undefined },
      children: chunks.map(({ first, data }) => ({
        name: "task",
        queueName: taskQueueName(data.method, meta.require),
        data,
        opts: { ...options_(first), ignoreDependencyOnFailure: true },
      })),
    });
    return;
  }
  for (const [method, entries] of byMethod) {
    // One BullMQ job is cheaper to add alone than in a bulk (the one-task job's latency).
    if (entries.length === 1) {
      await queueOf(method).add("task", entries[0]!.data, options_(entries[0]!.first));
      continue;
    }
    for (let at = 0; at < entries.length; at += 1000) {
      await queueOf(method).addBulk(
        entries
          .slice(at, at + 1000)
          .map(({ first, data }) => ({ name: "task", data, opts: options_(first) })),
      );
    }
  }
}
