import type { Command } from "commander";
import type { JobQueue } from "../queue/job-queue.js";
import { readTokenFile } from "../rpc/client-credentials.js";
import { duration, labelPairs } from "./option-parsers.js";
import { writeJson, writeText } from "./output.js";
import { warnUnmetRequirement } from "./queue-wait-notice.js";
import { UsageError } from "./run-program.js";

/**
 * What every queue command shares (docs/queue.md): the queue it names (--queue or RPCPOOL_QUEUE),
 * opened only when a command needs it (BullMQ is slow to load), and the submit controls.
 */

export interface QueueOptions {
  queue?: string;
  json?: boolean;
  /** The servers' token: results must be signed with it (result only). */
  tokenFile?: string;
}

export interface SubmitOptions extends QueueOptions {
  keep: number;
  attempts: number;
  /** The job controls (docs/queue.md): a submission key, a delay, a priority. */
  key?: string;
  delay?: number;
  priority?: number;
  every?: number;
  /** --require and --prefer KEY=VALUE, gathered: the labels a worker must have (prefer: ignored). */
  require?: Record<string, string>;
  prefer?: Record<string, string>;
}

/** The controls every submit passes to JobQueue.submit. */
export function controls(options: SubmitOptions) {
  return {
    keepMs: options.keep,
    attempts: options.attempts,
    key: options.key,
    delayMs: options.delay,
    priority: options.priority,
    every: options.every,
    require: options.require,
    prefer: options.prefer,
  };
}

/** A --delay: milliseconds (2000), or a time with its unit (2s, 5m, 1h); 0 for none. */
export function delay(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim());
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match?.[2] ?? "ms"]!;
  const ms = match ? Math.round(Number(match[1]) * unit) : Number.NaN;
  if (!Number.isSafeInteger(ms))
    throw new UsageError(`expected milliseconds or a time like 2s or 5m, not "${value}"`);
  return ms;
}

/** The queue named by --queue, or by RPCPOOL_QUEUE (which keeps a password out of `ps`). */
export async function openQueue(options: QueueOptions): Promise<JobQueue> {
  const url = options.queue ?? process.env.RPCPOOL_QUEUE;
  if (!url) throw new UsageError("give the queue: --queue redis://HOST:PORT or RPCPOOL_QUEUE");
  // Loaded here: the other commands never pay for the Redis client.
  const [{ JobQueue }, { QueueUrlError }] = await Promise.all([
    import("../queue/job-queue.js"),
    import("../queue/queue-url.js"),
  ]);
  let signingKey: string | undefined;
  try {
    signingKey = options.tokenFile ? readTokenFile(options.tokenFile) : undefined;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  try {
    return new JobQueue(url, { signingKey });
  } catch (error) {
    if (error instanceof QueueUrlError) throw new UsageError(`--queue: ${error.message}`);
    throw error;
  }
}

export async function withQueue<T>(options: QueueOptions, work: (queue: JobQueue) => Promise<T>): Promise<T> {
  const queue = await openQueue(options);
  try {
    return await work(queue);
  } finally {
    await queue.close();
  }
}
/**
 * withQueue for a submit: a job with --require that no connected worker meets is stored all the
 * same (a durable queue takes work for workers that come later), with a warning on stderr naming
 * the requirement, so that a typo or a missing --label is not a silent wait (docs/queue.md).
 */
export function withSubmit<J extends { id: string; schedule: boolean }>(
  options: SubmitOptions,
  work: (queue: JobQueue) => Promise<J>,
): Promise<J> {
  return withQueue(options, async (queue) => {
    const job = await work(queue);
    if (options.require && !job.schedule) await warnUnmetRequirement(queue, job.id);
    return job;
  });
}

export async function printSubmitted(id: string, options: QueueOptions, schedule = false): Promise<void> {
  if (options.json) await writeJson(schedule ? { schedule: id } : { job: id });
  else await writeText(id);
}

/** Options every `submit` command has. */
export function submitOptions(command: Command): Command {
  return command
    .option("--queue <url>", "redis://[:PASSWORD@]HOST[:PORT][/DB] or rediss://... (default: $RPCPOOL_QUEUE)")
    .option(
      "--keep <time>",
      "how long the results are kept after the job ends: 90s, 10m, 2h, 1d",
      duration,
      86_400_000,
    )
    .option(
      "--attempts <n>",
      "runs of a task whose server fails (bad input is never run twice)",
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 100)
          throw new UsageError(`--attempts: 1 to 100, not "${v}"`);
        return n;
      },
      5,
    )
    .option("--key <key>", "a submission key: the same key while its job is kept gives that job, run once")
    .option("--delay <time>", "take its tasks no sooner than this: milliseconds, or 2s, 5m, 1h", delay)
    .option("--priority <n>", "higher first, -1000 to 1000 (default 0)", (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || Math.abs(n) > 1000)
        throw new UsageError(`--priority: -1000 to 1000, not "${v}"`);
      return n;
    })
    .option(
      "--every <time>",
      "repeat: submit the job again every 2s, 10m, 1h (prints the schedule's id; cancel it to stop)",
      delay,
    )
    .option(
      "--require <key=value>",
      "only queue workers with this label take its tasks (repeatable; a server's --label)",
      labelPairs("--require"),
    )
    .option(
      "--prefer <key=value>",
      "accepted for the pool's sake and ignored: a queued task goes to the first worker free to take it",
      labelPairs("--prefer"),
    )
    .option("--json", 'print {"job":"ID"} ({"schedule":"ID"} with --every)');
}
