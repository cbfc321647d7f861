/**
 * rpcpool/queue: durable jobs on a Redis queue (BullMQ), with rpcpool servers as the workers
 * (docs/queue.md). A subpath of its own: BullMQ takes a while to load, and only queue users pay.
 */
export type { JobMeta, TaskOutcome } from "./job-keys.js";
export {
  defaultKeepMs,
  JobHandle,
  JobQueue,
  type JobResult,
  type JobState,
  type JobStatus,
  type SubmitOptions,
  type TaskInput,
} from "./job-queue.js";
export type { ScheduleStatus } from "./job-schedules.js";
export { defaultQueueLimits, type QueueLimits } from "./queue-limits.js";
export { parseQueueUrl, type QueueAddress, QueueUrlError, redact } from "./queue-url.js";
export {
  type LocalInvoker,
  type LocalReply,
  type QueueWorkerOptions,
  queueableMethods,
  type RunningQueueWorker,
  startQueueWorker,
} from "./queue-worker.js";
export {
  decodedOutcome,
  decodedOutcomes,
  FailedInput,
  type QueueableMethodName,
  ServiceJob,
  ServiceQueue,
  type ServiceQueueOptions,
  type ServiceSubmitOptions,
  type TaskInputOf,
  type TaskResult,
} from "./service-queue.js";
