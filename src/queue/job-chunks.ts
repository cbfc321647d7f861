import type { Redis } from "ioredis";
import type { TaskData } from "./job-keys.js";
import type { TaskInput } from "./job-types.js";

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
