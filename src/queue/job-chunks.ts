import type { Redis } from "ioredis";
import type { JobMeta, TaskData } from "./job-keys.js";
import { checkedRequirement } from "./job-requirements.js";
import type { SubmitOptions, TaskInput } from "./job-types.js";

/** One BullMQ job of a job's tasks: its first task's index, whether its inputs ride inline, its data. */
export interface TaskChunk {
  first: number;
  inline: boolean;
  bytes: number;
  data: TaskData;
}

/**
 * The job's tasks as BullMQ jobs: small tasks of one method ride together, up to `most` of them
 * and 256 KiB (what a worker runs at once, as a batch runs its items), so that many tiny tasks do
 * not each pay the broker's per-job cost; a task with a large input goes alone, its input in a
 * list of pieces beside it.
 */
export function taskChunks(id: string, tasks: TaskInput[], most: number, inlineBytes: number): TaskChunk[] {
  const chunks: TaskChunk[] = [];
  const open = new Map<string, (typeof chunks)[number]>();
  for (const [index, task] of tasks.entries()) {
    if ("failed" in task) continue;
    const bytes = task.requests.reduce((n, b) => n + b.byteLength, 0);
    if (bytes > inlineBytes) {
      chunks.push({
        first: index,
        inline: false,
        bytes,
        data: { job: id, method: task.method, tasks: [{ index }] },
      });
      continue;
    }
    const inline = task.requests.map((b) => b.toString("base64"));
    let chunk = open.get(task.method);
    if (!chunk || chunk.data.tasks.length >= most || chunk.bytes + bytes > 256 << 10) {
      chunk = { first: index, inline: true, bytes: 0, data: { job: id, method: task.method, tasks: [] } };
      chunks.push(chunk);
      open.set(task.method, chunk);
    }
    chunk.bytes += bytes;
    chunk.data.tasks.push({ index, inline });
  }
  return chunks;
}

/** A task's request messages in a list, a bounded number of pieces per round trip. */
export async function storeInput(
  redis: Redis,
  key: string,
  requests: Buffer[],
  keepMs: number,
): Promise<void> {
  for (let at = 0; at < requests.length; at += 64) {
    await redis.rpush(key, ...requests.slice(at, at + 64));
  }
  await redis.pexpire(key, keepMs);
}

/**
 * A job's record (`meta`: its methods, which task calls which, the reduce step as its last task,
 * which BullMQ job carries each task) and its BullMQ jobs.
 */
export function jobPlan(
  id: string,
  created: number,
  tasks: TaskInput[],
  options: SubmitOptions,
  inlineBytes: number,
): { meta: JobMeta; chunks: TaskChunk[] } {
  const methods = [...new Set(tasks.flatMap((t) => ("failed" in t ? [] : [t.method])))];
  if (options.then !== undefined && !methods.includes(options.then)) methods.push(options.then);
  const all = options.then === undefined ? tasks : [...tasks, { method: options.then, requests: [] }];
  const meta: JobMeta = {
    id,
    kind: options.kind ?? "tasks",
    created,
    tasks: all.length,
    methods,
    taskMethod:
      methods.length > 1 ? all.map((t) => ("failed" in t ? -1 : methods.indexOf(t.method))) : undefined,
    document: options.document,
    reduce: options.then === undefined ? undefined : { method: options.then, index: tasks.length },
    key: options.key,
    require: checkedRequirement(options.require),
  };
  // At least 64 BullMQ jobs when there are that many tasks, so that a job of a few slow tasks
  // still spreads over every server; up to 64 tasks in each for the many tiny ones.
  const most = options.chunkTasks ?? Math.max(1, Math.min(64, Math.floor(tasks.length / 64)));
  const chunks = taskChunks(id, tasks, most, inlineBytes);
  if (chunks.some((chunk) => chunk.data.tasks.length > 1)) {
    meta.chunk = [];
    for (const chunk of chunks) for (const task of chunk.data.tasks) meta.chunk[task.index] = chunk.first;
  }
  return { meta, chunks };
}
