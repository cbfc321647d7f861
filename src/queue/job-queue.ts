import { randomUUID } from "node:crypto";
import { FlowProducer, type JobsOptions, Queue } from "bullmq";
import type { Redis } from "ioredis";
import { ClientError } from "../rpc/client-error.js";
import { Status } from "../rpc/grpc-status.js";
import { endSpan, startProducerSpan, traceCarrier, tracingOn, withContext } from "../tracing/spans.js";
import {
  bullPrefix,
  cancelChannel,
  cancelScript,
  claimKeyScript,
  collectScript,
  errorField,
  inputKey,
  type JobMeta,
  jobIndexKey,
  jobKey,
  replyField,
  settledChannel,
  signatureField,
  submissionKey,
  type TaskData,
  type TaskOutcome,
  taskJobId,
  taskQueueName,
} from "./job-keys.js";
import {
  listSchedules,
  removeSchedule,
  type ScheduleStatus,
  type ScheduleTemplate,
  scheduleQueue,
  upsertSchedule,
} from "./job-schedules.js";
import { type QueueLimits, queueLimits, tooLarge } from "./queue-limits.js";
import { parseQueueUrl, type QueueAddress } from "./queue-url.js";
import { clientRedis, lastError, queueError } from "./redis-client.js";
import { outcomeSigned } from "./result-signature.js";

type CollectingRedis = Redis & {
  rpcpoolCollectBuffer(key: string, tasks: string): Promise<unknown>;
  rpcpoolCancel(key: string, ...args: string[]): Promise<number>;
  rpcpoolClaimKey(key: string, id: string, ttl: string): Promise<string>;
};

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

/**
 * The client side of rpcpool's durable jobs (docs/queue.md): puts jobs on a Redis queue that
 * rpcpool servers started with `--queue` work through, and reads their status and results. A job
 * is many tasks, each one call of a hosted method; it outlives the client that submitted it.
 */
export class JobQueue {
  readonly address: QueueAddress;
  readonly limits: QueueLimits;
  /** The servers' token: results must carry its signature (src/queue/result-signature.ts). */
  readonly #signingKey?: string;
  readonly #redis: Redis;
  readonly #queues = new Map<string, Queue>();
  #flows?: FlowProducer;
  #schedules?: Queue;
  readonly #channels = new Map<string, { waiters: Set<Listening>; subscribed: Promise<void> }>();
  #listener?: Redis;
  #connected?: Promise<void>;

  /**
   * `signingKey`: the servers' bearer token (their --token-file). With it, `result` refuses any
   * outcome a server did not sign with it (DATA_LOSS): one written into Redis by someone else.
   */
  constructor(url: string, options: { limits?: Partial<QueueLimits>; signingKey?: string } = {}) {
    this.address = parseQueueUrl(url);
    this.limits = queueLimits(options.limits);
    this.#signingKey = options.signingKey;
    this.#redis = clientRedis(this.address);
    this.#redis.defineCommand("rpcpoolCollect", { numberOfKeys: 1, lua: collectScript });
    this.#redis.defineCommand("rpcpoolCancel", { numberOfKeys: 1, lua: cancelScript });
    this.#redis.defineCommand("rpcpoolClaimKey", { numberOfKeys: 1, lua: claimKeyScript });
  }

  /** The URL with its password hidden: safe to show. */
  get shown(): string {
    return this.address.shown;
  }

  async #ready(): Promise<Redis> {
    this.#connected ??= this.#redis.connect().catch((error) => {
      throw queueError(this.address, error, lastError(this.#redis));
    });
    await this.#connected;
    return this.#redis;
  }

  #queue(method: string): Queue {
    let queue = this.#queues.get(method);
    if (!queue) {
      queue = new Queue(taskQueueName(method), { connection: this.#redis, prefix: bullPrefix });
      queue.on("error", () => {});
      this.#queues.set(method, queue);
    }
    return queue;
  }

  /** Any Redis failure as a ClientError naming the queue (never its password). */
  async #guard<T>(work: (redis: Redis) => Promise<T>): Promise<T> {
    try {
      return await work(await this.#ready());
    } catch (error) {
      throw queueError(this.address, error, lastError(this.#redis));
    }
  }

  /**
   * Stores the job's inputs and enqueues its tasks; the returned handle's id is all anyone needs
   * later. Inputs are checked against the limits before anything is stored.
   */
  async submit(tasks: TaskInput[], options: SubmitOptions = {}): Promise<JobHandle> {
    if (!tracingOn()) return this.#submit(tasks, options);
    // A span of the submit, whose trace context each task carries: its runs are its children.
    const produced = startProducerSpan(`queue submit ${options.kind ?? "tasks"}`, {
      "rpcpool.tasks": tasks.length,
    });
    try {
      const job = await withContext(produced.context, () => this.#submit(tasks, options));
      produced.span.setAttribute("rpcpool.job", job.id);
      endSpan(produced.span);
      return job;
    } catch (error) {
      endSpan(produced.span, error);
      throw error;
    }
  }

  async #submit(tasks: TaskInput[], options: SubmitOptions): Promise<JobHandle> {
    if (options.every !== undefined) return this.#schedule(tasks, options, options.every);
    const keepMs = options.keepMs ?? defaultKeepMs;
    if (!(keepMs >= 1000))
      throw new ClientError(Status.INVALID_ARGUMENT, "results must be kept at least 1 s");
    let jobBytes = 0;
    for (const [index, task] of tasks.entries()) {
      if ("failed" in task) continue;
      const bytes = task.requests.reduce((n, b) => n + b.byteLength, 0);
      if (bytes > this.limits.maxTaskBytes)
        throw tooLarge(`task ${index + 1}`, bytes, this.limits.maxTaskBytes);
      jobBytes += bytes;
    }
    if (jobBytes > this.limits.maxJobBytes) throw tooLarge("the job", jobBytes, this.limits.maxJobBytes);
    const delayMs = options.delayMs ?? 0;
    if (!(Number.isSafeInteger(delayMs) && delayMs >= 0))
      throw new ClientError(Status.INVALID_ARGUMENT, `the delay is a number of milliseconds, not ${delayMs}`);
    const priority = bullPriority(options.priority);
    // Inputs and the job's record outlive the delay by --keep.
    const expiryMs = keepMs + delayMs;
    let id: string = randomUUID();
    if (options.key !== undefined) {
      const claimed = await this.#guard((redis) =>
        (redis as CollectingRedis).rpcpoolClaimKey(submissionKey(options.key!), id, String(expiryMs)),
      );
      // Submitted before with this key, and kept: that job, stored and run once.
      if (claimed !== id) return this.job(claimed);
      id = claimed;
    }
    const created = Date.now();
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
    };
    // At least 64 BullMQ jobs when there are that many tasks, so that a job of a few slow tasks
    // still spreads over every server; up to 64 tasks in each for the many tiny ones.
    const most = options.chunkTasks ?? Math.max(1, Math.min(64, Math.floor(tasks.length / 64)));
    const chunks = this.#chunks(id, tasks, most);
    const trace = traceCarrier();
    if (trace) for (const chunk of chunks) chunk.data.trace = trace;
    if (chunks.some((chunk) => chunk.data.tasks.length > 1)) {
      meta.chunk = [];
      for (const chunk of chunks) for (const task of chunk.data.tasks) meta.chunk[task.index] = chunk.first;
    }
    // Listening to the job while it is stored: a result() that follows needs no round trip to start.
    let listening: Listening | undefined;
    const stored = this.#guard(async (redis) => {
      listening = this.#listen(settledChannel(id));
      // A failed subscription is found by result(), which waits for it.
      listening.ready.catch(() => {});
      // The job's record first: a worker that takes a task finds where to put its outcome.
      const record = redis.multi().hset(jobKey(id), "meta", JSON.stringify(meta), "keep", String(keepMs));
      // The key expires with the job (the settling script pushes both on).
      if (options.key !== undefined) record.hset(jobKey(id), "key", submissionKey(options.key));
      for (const [index, task] of tasks.entries()) {
        if ("failed" in task) record.hset(jobKey(id), errorField(index), JSON.stringify(task.failed));
      }
      record.pexpire(jobKey(id), expiryMs).zadd(jobIndexKey, created, id);
      // Sent now, awaited last: the tasks below go on the same connection, so Redis has the
      // record before any of them (a round trip saved on every submit).
      const recorded = record.exec();
      for (const chunk of chunks) {
        for (const { index } of chunk.data.tasks) {
          const task = tasks[index] as { requests: Buffer[] };
          if (!chunk.inline) await this.#storeInput(redis, inputKey(id, index), task.requests, expiryMs);
        }
      }
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
      if (meta.reduce) {
        // A BullMQ flow: the reduce step is the parent of the job's tasks, taken once they all
        // completed or failed (a failed one does not hold it back: its outcome says why).
        const { method, index } = meta.reduce;
        this.#flows ??= new FlowProducer({ connection: redis, prefix: bullPrefix });
        this.#flows.on("error", () => {});
        await this.#flows.add({
          name: "then",
          queueName: taskQueueName(method),
          data: { job: id, method, tasks: [{ index }], reduce: true, trace } satisfies TaskData,
          opts: { ...options_(index), delay: undefined },
          children: chunks.map(({ first, data }) => ({
            name: "task",
            queueName: taskQueueName(data.method),
            data,
            opts: { ...options_(first), ignoreDependencyOnFailure: true },
          })),
        });
        await recorded;
        return;
      }
      for (const [method, entries] of byMethod) {
        // One BullMQ job is cheaper to add alone than in a bulk (the one-task job's latency).
        if (entries.length === 1) {
          await this.#queue(method).add("task", entries[0]!.data, options_(entries[0]!.first));
          continue;
        }
        for (let at = 0; at < entries.length; at += 1000) {
          await this.#queue(method).addBulk(
            entries
              .slice(at, at + 1000)
              .map(({ first, data }) => ({ name: "task", data, opts: options_(first) })),
          );
        }
      }
      await recorded;
    });
    try {
      await stored;
    } catch (error) {
      listening?.release();
      // The key is free again for a submit that stores its job (unless another has taken it).
      if (options.key !== undefined)
        await this.#redis.eval(releaseKeyScript, 1, submissionKey(options.key), id).catch(() => {});
      throw error;
    }
    return new JobHandle(this, id, meta, listening && adoptable(listening));
  }

  /** A repeating job: its template stored, its scheduler made (or updated, for a key given again). */
  async #schedule(tasks: TaskInput[], options: SubmitOptions, every: number): Promise<JobHandle> {
    if (!(Number.isSafeInteger(every) && every >= 1000))
      throw new ClientError(Status.INVALID_ARGUMENT, "a job repeats at most once a second");
    const { every: _, key, ...rest } = options;
    let bytes = 0;
    const template: ScheduleTemplate = {
      tasks: tasks.map((task) => {
        if ("failed" in task) return task;
        bytes += task.requests.reduce((n, b) => n + b.byteLength, 0);
        return { method: task.method, requests: task.requests.map((b) => b.toString("base64")) };
      }),
      options: rest,
    };
    // The template lives in Redis as long as the schedule: one task's worth at most.
    if (bytes > this.limits.maxTaskBytes) throw tooLarge("a repeating job", bytes, this.limits.maxTaskBytes);
    const id = key ?? `schedule-${randomUUID()}`;
    await this.#guard(async (redis) => {
      this.#schedules ??= scheduleQueue(redis);
      await upsertSchedule(redis, this.#schedules, id, options.kind ?? "tasks", every, template);
    });
    return new JobHandle(this, id, undefined, undefined, true);
  }

  /** The repeating jobs (`submit --every`), with how many runs each has submitted. */
  schedules(): Promise<ScheduleStatus[]> {
    return this.#guard((redis) => {
      this.#schedules ??= scheduleQueue(redis);
      return listSchedules(redis, this.#schedules);
    });
  }

  /** Stops a repeating job (its runs already submitted go on); false if there is no such schedule. */
  cancelSchedule(id: string): Promise<boolean> {
    return this.#guard((redis) => {
      this.#schedules ??= scheduleQueue(redis);
      return removeSchedule(redis, this.#schedules, id);
    });
  }

  /**
   * The job's tasks as BullMQ jobs: small tasks of one method ride together, up to `most` of them
   * and 256 KiB (what a worker runs at once, as a batch runs its items), so that many tiny tasks do
   * not each pay the broker's per-job cost; a task with a large input goes alone, its input in a
   * list of pieces beside it.
   */
  #chunks(id: string, tasks: TaskInput[], most: number) {
    const chunks: Array<{ first: number; inline: boolean; bytes: number; data: TaskData }> = [];
    const open = new Map<string, (typeof chunks)[number]>();
    for (const [index, task] of tasks.entries()) {
      if ("failed" in task) continue;
      const bytes = task.requests.reduce((n, b) => n + b.byteLength, 0);
      if (bytes > this.limits.inlineBytes) {
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
  async #storeInput(redis: Redis, key: string, requests: Buffer[], keepMs: number): Promise<void> {
    for (let at = 0; at < requests.length; at += 64) {
      await redis.rpush(key, ...requests.slice(at, at + 64));
    }
    await redis.pexpire(key, keepMs);
  }

  /** A handle on a job submitted earlier, by its id. */
  job(id: string): JobHandle {
    return new JobHandle(this, id);
  }

  async #meta(redis: Redis, id: string): Promise<JobMeta> {
    const text = await redis.hget(jobKey(id), "meta");
    if (text === null) throw notFound(id);
    try {
      const meta = JSON.parse(text) as JobMeta;
      if (Number.isInteger(meta.tasks) && Array.isArray(meta.methods)) return meta;
    } catch {}
    throw new ClientError(Status.DATA_LOSS, `job ${id}: its record in Redis is malformed`);
  }

  /** How many of a job's tasks wait, run, are done, and failed. */
  status(id: string): Promise<JobStatus> {
    return this.#guard(async (redis) => {
      const meta = await this.#meta(redis, id);
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
              state = this.#queue(method).getJobState(taskJobId(id, first));
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
    });
  }

  /** Workers connected now to the task queues of a job's methods (BullMQ's count, from CLIENT LIST). */
  workersFor(id: string): Promise<number> {
    return this.#guard(async (redis) => {
      const meta = await this.#meta(redis, id);
      const counts = await Promise.all(meta.methods.map((method) => this.#queue(method).getWorkersCount()));
      return counts.reduce((n, count) => n + count, 0);
    });
  }

  /**
   * The job's outcomes once every task has settled. Without `wait`, a job still running is
   * FAILED_PRECONDITION; with it, the call returns when the last task settles (told by pub/sub on
   * one connection shared by every wait, checked again every `pollMs` in case a message was missed).
   */
  result(
    id: string,
    options: {
      wait?: boolean;
      signal?: AbortSignal;
      pollMs?: number;
      meta?: JobMeta;
      listening?: Listening;
    } = {},
  ): Promise<JobResult> {
    return this.#guard(async (redis) => {
      const meta = options.meta ?? (await this.#meta(redis, id));
      if (!options.wait) {
        const now = await this.#collect(redis, meta);
        if (now) return now;
        const status = await this.status(id);
        throw new ClientError(
          Status.FAILED_PRECONDITION,
          `job ${id} is not finished: ${status.done + status.failed} of ${status.tasks} tasks settled (${status.running} running, ${status.waiting} waiting); add --wait to wait for it`,
        );
      }
      // Listening first, then looking: a task that settles in between is seen either way.
      const listening = options.listening ?? this.#listen(settledChannel(id));
      options.listening?.adopt?.();
      await listening.ready;
      try {
        for (;;) {
          options.signal?.throwIfAborted();
          // Made before the look: a task settling during it wakes the next round at once.
          const next = new Promise<void>((resolve) => {
            listening.wake = resolve;
            setTimeout(resolve, options.pollMs ?? 1000).unref();
            options.signal?.addEventListener("abort", () => resolve(), { once: true });
          });
          const done = await this.#collect(redis, meta);
          if (done) return done;
          await next;
        }
      } finally {
        listening.release();
      }
    });
  }

  /**
   * Listens to a job's settled tasks, on one connection in subscriber mode shared by every wait
   * of this client (opened on first use); resolves once Redis has confirmed the subscription.
   */
  #listen(channel: string): Listening {
    if (!this.#listener) {
      const listener = this.#redis.duplicate();
      listener.on("error", () => {});
      listener.on("message", (from: string) => {
        for (const listening of this.#channels.get(from)?.waiters ?? []) listening.wake();
      });
      this.#listener = listener;
    }
    const listener = this.#listener;
    let entry = this.#channels.get(channel);
    if (!entry) {
      entry = { waiters: new Set(), subscribed: listener.subscribe(channel).then(() => {}) };
      this.#channels.set(channel, entry);
    }
    const listening: Listening = {
      ready: entry.subscribed,
      wake: () => {},
      release: () => {
        listening.released = true;
        const current = this.#channels.get(channel);
        if (!current?.waiters.delete(listening) || current.waiters.size > 0) return;
        this.#channels.delete(channel);
        // Not waited for: an answer need not wait for the unsubscription.
        listener.unsubscribe(channel).catch(() => {});
      },
    };
    entry.waiters.add(listening);
    return listening;
  }

  /** The outcomes when every task has settled (one round trip either way), else undefined. */
  async #collect(redis: Redis, meta: JobMeta): Promise<JobResult | undefined> {
    const reply = (await (redis as CollectingRedis).rpcpoolCollectBuffer(
      jobKey(meta.id),
      String(meta.tasks),
    )) as number | Buffer[];
    // A job that expired has no fields at all.
    if (reply === -1) throw notFound(meta.id);
    if (typeof reply === "number") return undefined;
    const all = new Map<string, Buffer>();
    for (let i = 0; i + 1 < reply.length; i += 2) all.set(reply[i]!.toString(), reply[i + 1]!);
    if (all.has("cancelled")) {
      throw new ClientError(
        Status.CANCELLED,
        `job ${meta.id} was cancelled: ${all.get("cancelled")} of its ${meta.tasks} tasks did not run to the end`,
      );
    }
    const outcomes: TaskOutcome[] = [];
    for (let index = 0; index < meta.tasks; index++) {
      const response = all.get(replyField(index));
      if (response) {
        this.#checkSigned(meta, index, replyField(index), response, all.get(signatureField(index)));
        outcomes.push({ ok: true, response });
        continue;
      }
      const bytes = all.get(errorField(index));
      if (!bytes) throw notFound(meta.id);
      // A failure recorded at submission (an unreadable file) is the client's, unsigned; one a
      // server recorded carries its signature, which must then hold.
      const signature = all.get(signatureField(index));
      if (signature) this.#checkSigned(meta, index, errorField(index), bytes, signature);
      outcomes.push(failureOutcome(meta.id, index, bytes));
    }
    const reduce = meta.reduce ? outcomes.pop() : undefined;
    return { id: meta.id, kind: meta.kind, created: meta.created, document: meta.document, outcomes, reduce };
  }

  /** Refuses an outcome not signed with the servers' token, when this client was given it. */
  #checkSigned(meta: JobMeta, index: number, field: string, value: Buffer, signature?: Buffer): void {
    const key = this.#signingKey;
    if (key === undefined) return;
    const method = meta.methods[meta.taskMethod?.[index] ?? 0] ?? "";
    if (outcomeSigned(key, signature, meta.id, index, method, field, value)) return;
    throw new ClientError(
      Status.DATA_LOSS,
      `job ${meta.id}: the outcome of task ${index + 1} is not signed with the servers' token: it was written into Redis by someone else (or by a server without that --token-file); refused`,
    );
  }

  /**
   * Cancels a job: its tasks that wait (or are delayed) are removed from the queue, those running
   * are aborted by their workers, wherever they are (told on a pub/sub channel; a worker that takes
   * one later sees the job's mark), and each task without an outcome gets CANCELLED. `status`
   * then says `cancelled`, and `result` is CANCELLED. Cancelling it again does nothing; a job that
   * had finished is FAILED_PRECONDITION. Returns how many tasks it stopped.
   */
  cancel(id: string): Promise<number> {
    return this.#guard(async (redis) => {
      // A schedule's id (submit --every): the schedule stops.
      if ((await redis.exists(jobKey(id))) === 0 && (await this.cancelSchedule(id))) return 0;
      const meta = await this.#meta(redis, id);
      const stopped = await (redis as CollectingRedis).rpcpoolCancel(
        jobKey(id),
        settledChannel(id),
        String(meta.tasks),
        JSON.stringify({ code: Status.CANCELLED, message: `job ${id} was cancelled` }),
        id,
        cancelChannel,
      );
      if (stopped === -1) throw notFound(id);
      if (stopped === -2)
        throw new ClientError(Status.FAILED_PRECONDITION, `job ${id} has finished: nothing to cancel`);
      // Taken off the queue (a flow's parent first, with its children); a task a worker holds
      // (locked) stays, and its worker aborts it.
      const bullJobs = new Map<string, string>();
      if (meta.reduce) bullJobs.set(taskJobId(id, meta.reduce.index), meta.reduce.method);
      for (let index = 0; index < meta.tasks; index++) {
        const method = meta.methods[meta.taskMethod?.[index] ?? 0];
        if (method) bullJobs.set(taskJobId(id, meta.chunk?.[index] ?? index), method);
      }
      for (const [bullId, method] of bullJobs) {
        await this.#queue(method)
          .remove(bullId)
          .catch(() => {});
      }
      return stopped;
    });
  }

  /** The jobs whose results are still kept, oldest first, with their status. */
  jobs(): Promise<JobStatus[]> {
    return this.#guard(async (redis) => {
      const ids = await redis.zrange(jobIndexKey, "0", "-1");
      const statuses: JobStatus[] = [];
      for (const id of ids) {
        try {
          statuses.push(await this.status(id));
        } catch (error) {
          // Expired: its results are gone, and so is its place in the list.
          if (error instanceof ClientError && error.code === Status.NOT_FOUND)
            await redis.zrem(jobIndexKey, id);
          else throw error;
        }
      }
      return statuses;
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((queue) => queue.close().catch(() => {})));
    await this.#flows?.close().catch(() => {});
    await this.#schedules?.close().catch(() => {});
    this.#listener?.disconnect();
    this.#redis.disconnect();
  }
}

/** A submitted job: its id, and what can be asked of it (the awaited result waits by default). */
export class JobHandle {
  constructor(
    readonly queue: JobQueue,
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
function adoptable(listening: Listening): Listening {
  const timer = setTimeout(() => listening.release(), 10_000);
  timer.unref();
  listening.adopt = () => clearTimeout(timer);
  return listening;
}

/** A recorded failure: a JSON status; anything else in its place is a malformed record. */
function failureOutcome(id: string, index: number, bytes: Buffer): TaskOutcome {
  try {
    const failure = JSON.parse(bytes.toString()) as { code: unknown; message: unknown };
    if (Number.isInteger(failure.code) && typeof failure.message === "string")
      return { ok: false, code: failure.code as number, message: failure.message };
  } catch {}
  throw new ClientError(Status.DATA_LOSS, `job ${id}: the outcome of task ${index + 1} is malformed`);
}

/** Deletes a submission key if it still names this job. KEYS: the key. ARGV: the job's id. */
const releaseKeyScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** What a schedule's handle answers to status() and result(): its runs are the jobs. */
function scheduleNotJob(id: string): ClientError {
  return new ClientError(
    Status.FAILED_PRECONDITION,
    `${id} is a schedule, not a job: its runs are jobs (queue.schedules() gives the last one's id)`,
  );
}

function notFound(id: string): ClientError {
  return new ClientError(
    Status.NOT_FOUND,
    `no job ${id} on this queue (never submitted, or its results expired)`,
  );
}
