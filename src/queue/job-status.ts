import type { Redis } from "ioredis";
import { type JobMeta, jobKey, taskJobId } from "./job-keys.js";
import type { JobState, JobStatus } from "./job-types.js";

/**
 * A job's status from its hash (settled tasks) and BullMQ (the state of each unsettled task's
 * BullMQ job: active is running, delayed waits for its --delay); `stateOf` asks BullMQ.
 */
export async function jobStatus(
  redis: Redis,
  meta: JobMeta,
  stateOf: (method: string, bullId: string) => Promise<string>,
): Promise<JobStatus> {
  const id = meta.id;
  const fields = await redis.hkeys(jobKey(id));
  const settled = new Set<number>();
  let done = 0;
  let failed = 0;
  const cancelled = fields.includes("cancelled") ? Number(await redis.hget(jobKey(id), "cancelled")) : 0;
  for (const field of fields) {
    const kind = field.slice(0, 2);
    if (kind !== "r:" && kind !== "e:") continue;
    settled.add(Number(field.slice(2)));
    if (kind === "r:") done++;
    else failed++;
  }
  let running = 0;
  let delayed = 0;
  // Tasks that ride together share their BullMQ job's state: ask once per job.
  const chunkStates = new Map<number, Promise<string>>();
  const pending = [...Array(meta.tasks).keys()].filter((i) => !settled.has(i));
  for (let at = 0; at < pending.length; at += 500) {
    const states = await Promise.all(
      pending.slice(at, at + 500).map((index) => {
        const method = meta.methods[meta.taskMethod?.[index] ?? 0]!;
        const first = meta.chunk?.[index] ?? index;
        let state = chunkStates.get(first);
        if (!state) {
          state = stateOf(method, taskJobId(id, first));
          chunkStates.set(first, state);
        }
        return state;
      }),
    );
    running += states.filter((state) => state === "active").length;
    delayed += states.filter((state) => state === "delayed").length;
  }
  const finished = pending.length === 0;
  const state: JobState =
    cancelled > 0
      ? "cancelled"
      : finished
        ? failed > 0
          ? "failed"
          : "done"
        : running > 0 || settled.size > 0
          ? "running"
          : delayed > 0
            ? "delayed"
            : "waiting";
  return {
    id,
    kind: meta.kind,
    created: meta.created,
    state,
    tasks: meta.tasks,
    waiting: pending.length - running,
    delayed,
    running,
    done,
    failed: failed - cancelled,
    cancelled,
    finished,
  };
}
