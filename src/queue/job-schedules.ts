import { type Job, Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { bullPrefix, scheduleKey, scheduleQueueName, scheduleRunsKey } from "./job-keys.js";

/**
 * Repeating jobs (`submit --every`): BullMQ's job schedulers (`upsertJobScheduler`) on a queue of
 * their own, `schedules`, whose every tick is one BullMQ job naming the schedule. Whichever queue
 * worker takes it submits a new rpcpool job from the schedule's template (its tasks and submit
 * options, kept in Redis beside it) and adds the new job's id to the schedule's runs. Cancelling
 * a schedule removes its scheduler (and the tick waiting for its time) and its template; a tick
 * already taken finds no template and submits nothing. Runs are ordinary jobs: `status`,
 * `result`, `cancel`, and they expire after their --keep.
 */

/** What a schedule submits each time: its tasks (inputs in base64) and the submit options. */
export interface ScheduleTemplate {
  tasks: Array<{ method: string; requests: string[] } | { failed: { code: number; message: string } }>;
  options: Record<string, unknown>;
}

/** A schedule as `jobs --schedules` shows it. */
export interface ScheduleStatus {
  id: string;
  kind: string;
  /** Milliseconds between runs. */
  every: number;
  created: number;
  /** When the next run is submitted (ms since the epoch), if BullMQ has it planned. */
  next?: number;
  /** How many runs it has submitted, and the last one's id. */
  runs: number;
  last?: string;
}

/** Most run ids a schedule keeps (the runs themselves expire after their --keep). */
const keptRuns = 1000;

export const scheduleQueue = (redis: Redis) => {
  const queue = new Queue(scheduleQueueName, { connection: redis, prefix: bullPrefix });
  queue.on("error", () => {});
  return queue;
};

/** Stores the template, then creates (or, for an id given again, updates) the scheduler. */
export async function upsertSchedule(
  redis: Redis,
  queue: Queue,
  id: string,
  kind: string,
  every: number,
  template: ScheduleTemplate,
): Promise<void> {
  await redis.hset(scheduleKey(id), {
    template: JSON.stringify(template),
    kind,
    every: String(every),
    created: String(Date.now()),
  });
  await queue.upsertJobScheduler(id, { every }, { name: "run", data: { schedule: id } });
}

/** Removes a schedule: false when there is none of that id. */
export async function removeSchedule(redis: Redis, queue: Queue, id: string): Promise<boolean> {
  const existed = (await redis.del(scheduleKey(id))) === 1;
  const removed = await queue.removeJobScheduler(id);
  await redis.del(scheduleRunsKey(id));
  return existed || removed;
}

/** The schedules, with their runs. */
export async function listSchedules(redis: Redis, queue: Queue): Promise<ScheduleStatus[]> {
  const schedulers = await queue.getJobSchedulers(0, -1, true);
  const statuses: ScheduleStatus[] = [];
  for (const scheduler of schedulers) {
    const id = scheduler.key;
    const [kind, every, created] = await redis.hmget(scheduleKey(id), "kind", "every", "created");
    if (kind === null) continue;
    const runs = await redis.llen(scheduleRunsKey(id));
    const last = (await redis.lindex(scheduleRunsKey(id), -1)) ?? undefined;
    statuses.push({
      id,
      kind,
      every: Number(every),
      created: Number(created),
      next: scheduler.next,
      runs,
      last,
    });
  }
  return statuses;
}

/**
 * The worker side: takes the schedules' ticks (one at a time) and submits each run with `submit`
 * (a JobQueue's, which checks the limits as any submit does).
 */
export function startScheduleWorker(
  redis: Redis,
  submit: (template: ScheduleTemplate) => Promise<string>,
  say: (message: string) => void,
): Worker {
  const worker = new Worker(
    scheduleQueueName,
    async (job: Job<{ schedule?: unknown }>) => {
      const id = job.data.schedule;
      if (typeof id !== "string") return;
      const text = await redis.hget(scheduleKey(id), "template");
      // Cancelled since this tick was planned.
      if (text === null) return;
      let template: ScheduleTemplate;
      try {
        template = JSON.parse(text) as ScheduleTemplate;
        if (!wellFormed(template)) throw new Error("not a template");
      } catch {
        throw new Error(`schedule ${id}: its template in Redis is malformed`);
      }
      const run = await submit(template);
      await redis.multi().rpush(scheduleRunsKey(id), run).ltrim(scheduleRunsKey(id), -keptRuns, -1).exec();
    },
    { autorun: false, connection: redis, prefix: bullPrefix, concurrency: 1 },
  );
  worker.on("error", (error) => say(error.message));
  worker.run().catch((error: Error) => say(error.message));
  return worker;
}

/** A template as upsertSchedule writes it (whatever is in Redis may have been written by anyone). */
function wellFormed(template: ScheduleTemplate): boolean {
  const strings = (list: unknown) => Array.isArray(list) && list.every((x) => typeof x === "string");
  return (
    typeof template === "object" &&
    template !== null &&
    typeof template.options === "object" &&
    template.options !== null &&
    Array.isArray(template.tasks) &&
    template.tasks.every((task) =>
      "failed" in task
        ? Number.isInteger(task.failed?.code) && typeof task.failed.message === "string"
        : typeof task.method === "string" && strings(task.requests),
    )
  );
}
