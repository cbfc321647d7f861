import type { JobMeta } from "./job-keys.js";
import { type JobResult, type JobStatus, scheduleNotJob } from "./job-types.js";

/** What a handle asks of its queue (a JobQueue): by id, so that a handle is a small value. */
export interface JobReader {
  status(id: string): Promise<JobStatus>;
  cancel(id: string): Promise<number>;
  result(
    id: string,
    options: { wait?: boolean; signal?: AbortSignal; meta?: JobMeta; listening?: Listening },
  ): Promise<JobResult>;
}

/** A submitted job: its id, and what can be asked of it (the awaited result waits by default). */
export class JobHandle {
  constructor(
    readonly queue: JobReader,
    readonly id: string,
    /** What was submitted, when this client submitted it (saves a round trip). */
    readonly meta?: JobMeta,
    /** Listening to its tasks since submission; released unless result() adopts it soon. */
    private listening?: Listening,
    /** A repeating job's schedule (submit with `every`): only cancel() applies; its runs are jobs. */
    readonly schedule = false,
  ) {}

  status(): Promise<JobStatus> {
    if (this.schedule) return Promise.reject(scheduleNotJob(this.id));
    return this.queue.status(this.id);
  }

  /** Cancels the job (JobQueue.cancel): how many tasks it stopped. */
  cancel(): Promise<number> {
    return this.queue.cancel(this.id);
  }

  result(options: { wait?: boolean; signal?: AbortSignal } = {}): Promise<JobResult> {
    if (this.schedule) return Promise.reject(scheduleNotJob(this.id));
    const listening = options.wait === false || this.listening?.released ? undefined : this.listening;
    this.listening = undefined;
    return this.queue.result(this.id, { wait: true, meta: this.meta, listening, ...options });
  }
}

/** A subscription to a job's settled tasks: `wake` is called on each message. */
export interface Listening {
  /** Settles once Redis has confirmed the subscription: messages after that are not missed. */
  ready: Promise<void>;
  wake: () => void;
  release: () => void;
  released?: boolean;
  /** Keeps it past its grace period (for one handed over with a JobHandle). */
  adopt?: () => void;
}

/** A listening handed out with a JobHandle: released after a few seconds unless adopted. */
export function adoptable(listening: Listening): Listening {
  const timer = setTimeout(() => listening.release(), 10_000);
  timer.unref();
  listening.adopt = () => clearTimeout(timer);
  return listening;
}
