import { ClientError } from "../rpc/client-error.js";
import { Status } from "../rpc/grpc-status.js";
import type { Labels } from "../rpc/server-labels.js";
import type { TaskOutcome } from "./job-keys.js";

/**
 * What a job is to those who submit and read it (docs/queue.md): its tasks, the submission's
 * controls, its status and its outcomes. The Redis side of each lives in job-keys.ts.
 */

/** One task of a job: a hosted method and its request messages (one for a unary method) as proto bytes. */
export type TaskInput =
  | { method: string; requests: Buffer[] }
  /** A task already settled at submission, e.g. an input file that could not be read. */
  | { failed: { code: number; message: string } };

export interface SubmitOptions {
  /** What the job is, for people (`rpcpool jobs`) and for whoever reads the result. */
  kind?: string;
  /** Kept with the job and returned with its result (JSON). */
  document?: unknown;
  /** How long results are kept after the last task settled (default one day); inputs as long. */
  keepMs?: number;
  /** Runs of a task that fails for reasons not of its input (default 5), with back-off. */
  attempts?: number;
  /** First back-off (default 1 s), doubling each retry. */
  backoffMs?: number;
  /**
   * Most small tasks of one method carried by one BullMQ job (1: each alone). Default: a 64th of
   * the tasks, between 1 and 64, so that a job still spreads over up to 64 worker slots.
   */
  chunkTasks?: number;
  /**
   * A submission key (`--key`): a second submit with the same key, while the job submitted with it
   * is kept, returns that job (same id) and stores and runs nothing.
   */
  key?: string;
  /** Its tasks are not taken before this many milliseconds (state `delayed` meanwhile). */
  delayMs?: number;
  /** Higher first (-1000 to 1000, default 0): among waiting tasks, a worker takes the highest. */
  priority?: number;
  /**
   * A reduce step (Celery's chord, a BullMQ flow): this hosted method (its full path) runs once
   * every task has settled, on `{ repeated V parts = 1; }` of their replies in task order, as
   * the job's last task; refused (FAILED_PRECONDITION) when a task failed.
   */
  then?: string;
  /**
   * Repeats: a schedule (BullMQ's job scheduler) submits the job again every this many ms, each
   * run a job of its own (src/queue/job-schedules.ts); the returned handle is the schedule's
   * (`schedule: true`, `cancel()` stops it). With `key`, the key names the schedule, and a second
   * submit with it updates the schedule instead of adding one.
   */
  every?: number;
  /**
   * Labels a worker must have to take the job's tasks (`--require gpu=1`): only queue workers
   * started with every pair among their `--label`s take them; the job waits for one otherwise.
   */
  require?: Labels;
  /**
   * Accepted for symmetry with the pool's options, and ignored: a queued task goes to whichever
   * worker that may take it asks first (docs/queue.md, "Requirements").
   */
  prefer?: Labels;
}

/** What `status` calls a job as a whole. */
export type JobState = "waiting" | "delayed" | "running" | "done" | "failed" | "cancelled";

export interface JobStatus {
  id: string;
  kind: string;
  created: number;
  /**
   * cancelled; done (every task settled, none failed); failed (every task settled, some failed);
   * running (some task running or settled); delayed (its tasks wait for their --delay); waiting.
   */
  state: JobState;
  /** Tasks, the reduce step (`then`) included. */
  tasks: number;
  /** Of `waiting`, those whose --delay has not passed. */
  delayed: number;
  /** Of `failed`, those stopped by `cancel`. */
  cancelled: number;
  waiting: number;
  running: number;
  done: number;
  failed: number;
  /** Every task settled: the result is ready. */
  finished: boolean;
}

export interface JobResult {
  id: string;
  kind: string;
  created: number;
  document: unknown;
  /** One per task, in submission order (the reduce step's apart, in `reduce`). */
  outcomes: TaskOutcome[];
  /** The reduce step's outcome, for a job submitted with `then`. */
  reduce?: TaskOutcome;
}

/** The most and least --priority; BullMQ's priorities are lower-first, from 1. */
export const maxPriority = 1000;

/** A JobQueue's priority (higher first) as BullMQ's (lower first, 1 the highest). */
export function bullPriority(priority = 0): number {
  if (!Number.isInteger(priority) || Math.abs(priority) > maxPriority)
    throw new ClientError(
      Status.INVALID_ARGUMENT,
      `the priority is an integer from -${maxPriority} to ${maxPriority}, not ${priority}`,
    );
  return maxPriority + 1 - priority;
}

export const defaultKeepMs = 24 * 3_600_000;

/** What a schedule's handle answers to status() and result(): its runs are the jobs. */
export function scheduleNotJob(id: string): ClientError {
  return new ClientError(
    Status.FAILED_PRECONDITION,
    `${id} is a schedule, not a job: its runs are jobs (queue.schedules() gives the last one's id)`,
  );
}

export function notFound(id: string): ClientError {
  return new ClientError(
    Status.NOT_FOUND,
    `no job ${id} on this queue (never submitted, or its results expired)`,
  );
}
