import { randomUUID } from "node:crypto";
import { FlowProducer, Queue } from "bullmq";
import type { Redis } from "ioredis";
import { meets } from "../pool/label-match.js";
import { ClientError } from "../rpc/client-error.js";
import { Status } from "../rpc/grpc-status.js";
import type { AnyServiceDefinition } from "../rpc/method-spec.js";
import type { Labels } from "../rpc/server-labels.js";
import { endSpan, startProducerSpan, traceCarrier, tracingOn, withContext } from "../tracing/spans.js";
import { jobPlan, storeInput } from "./job-chunks.js";
import { checkedSubmission, enqueueChunks } from "./job-enqueue.js";
import { adoptable, JobHandle, type Listening } from "./job-handle.js";
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
  settledChannel,
  submissionKey,
  taskJobId,
  taskQueueName,
} from "./job-keys.js";
import { SettledListener } from "./job-listener.js";
import { type CollectingRedis, collectOutcomes } from "./job-outcomes.js";
import { recordRequirement, requirementText, workerLabels } from "./job-requirements.js";
import {
  listSchedules,
  removeSchedule,
  type ScheduleStatus,
  type ScheduleTemplate,
  scheduleQueue,
  upsertSchedule,
} from "./job-schedules.js";
import { jobStatus } from "./job-status.js";
import { type JobResult, type JobStatus, notFound, type SubmitOptions, type TaskInput } from "./job-types.js";
import { type QueueLimits, queueLimits, tooLarge } from "./queue-limits.js";
import { parseQueueUrl, type QueueAddress } from "./queue-url.js";
import { clientRedis, lastError, queueError } from "./redis-client.js";
import { ServiceQueue, type ServiceQueueOptions } from "./service-queue.js";

// What a job is (its tasks, options, status, outcomes) and its handle live in files of their own;
// they are re-exported here, where their users have always found them.
export { JobHandle, type Listening } from "./job-handle.js";
export {
  bullPriority,
  defaultKeepMs,
  type JobResult,
  type JobState,
  type JobStatus,
  maxPriority,
  type SubmitOptions,
  type TaskInput,
} from "./job-types.js";

/**
 * The client side of rpcpool's durable jobs (docs/queue.md): puts jobs on a Redis queue that
 * rpcpool servers started with `--queue` work through, and reads their status and results. A job
 * is many tasks, each one call of a hosted method; it outlives the client that submitted it.
 */
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
  readonly #listener: SettledListener;
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
    this.#listener = new SettledListener(this.#redis);
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

  /** A method's task queue, for a job with `require` its requirement's (job-requirements.ts). */
  #queue(method: string, require?: Labels): Queue {
    const name = taskQueueName(method, require);
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.#redis, prefix: bullPrefix });
      queue.on("error", () => {});
      this.#queues.set(name, queue);
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
    const { keepMs, delayMs, priority } = checkedSubmission(tasks, options, this.limits);
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
    const { meta, chunks } = jobPlan(id, created, tasks, options, this.limits.inlineBytes);
    // Each task carries the submit's trace context: its runs are the submit span's children.
    const trace = traceCarrier();
    if (trace) for (const chunk of chunks) chunk.data.trace = trace;
    // Listening to the job while it is stored: a result() that follows needs no round trip to start.
    let listening: Listening | undefined;
    const stored = this.#guard(async (redis) => {
      listening = this.#listener.listen(settledChannel(id));
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
      // Known to the workers before its tasks are queued: those whose labels meet it consume them.
      if (meta.require) await recordRequirement(redis, meta.require);
      for (const chunk of chunks) {
        for (const { index } of chunk.data.tasks) {
          const task = tasks[index] as { requests: Buffer[] };
          if (!chunk.inline) await storeInput(redis, inputKey(id, index), task.requests, expiryMs);
        }
      }
      this.#flows ??= meta.reduce ? new FlowProducer({ connection: redis, prefix: bullPrefix }) : undefined;
      this.#flows?.on("error", () => {});
      await enqueueChunks(chunks, meta, {
        ...options,
        keepMs,
        delayMs,
        priority,
        queueOf: (method) => this.#queue(method, meta.require),
        flows: this.#flows,
      });
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

  /** A handle on a job submitted earlier, by its id. */
  job(id: string): JobHandle {
    return new JobHandle(this, id);
  }

  /**
   * One service's methods on this queue, typed by its definition, as `pool.service(D)` is on a
   * pool: `queue.service(D).submit("method", inputs)` (src/queue/service-queue.ts).
   */
  service<D extends AnyServiceDefinition>(definition: D, options: ServiceQueueOptions = {}): ServiceQueue<D> {
    return new ServiceQueue(this, definition, options);
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
      return jobStatus(redis, meta, (method, bullId) =>
        this.#queue(method, meta.require).getJobState(bullId),
      );
    });
  }

  /** Workers connected now to the task queues of a job's methods that may take its tasks. */
  async workersFor(id: string): Promise<number> {
    return (await this.jobWorkers(id)).matching;
  }

  /**
   * Who may take a job's tasks now: the workers connected to its methods' base queues (BullMQ's
   * list, from CLIENT LIST; each worker consumes them whatever its labels, and names its
   * connections with its labels), `matching` those whose labels meet the job's requirement, and
   * the distinct labels of all of them (for a message naming what there is instead).
   */
  jobWorkers(id: string): Promise<{ require?: Labels; matching: number; labels: Labels[] }> {
    return this.#guard(async (redis) => {
      const meta = await this.#meta(redis, id);
      const lists = await Promise.all(meta.methods.map((method) => this.#queue(method).getWorkers()));
      const all = lists.flat().map((worker) => workerLabels(worker.rawname));
      const distinct = new Map(all.map((labels) => [requirementText(labels), labels]));
      return {
        require: meta.require,
        matching: all.filter((labels) => meets(labels, meta.require)).length,
        labels: [...distinct.values()],
      };
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
        const now = await collectOutcomes(redis, meta, this.#signingKey);
        if (now) return now;
        const status = await this.status(id);
        throw new ClientError(
          Status.FAILED_PRECONDITION,
          `job ${id} is not finished: ${status.done + status.failed} of ${status.tasks} tasks settled (${status.running} running, ${status.waiting} waiting); add --wait to wait for it`,
        );
      }
      // Listening first, then looking: a task that settles in between is seen either way.
      const listening = options.listening ?? this.#listener.listen(settledChannel(id));
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
          const done = await collectOutcomes(redis, meta, this.#signingKey);
          if (done) return done;
          await next;
        }
      } finally {
        listening.release();
      }
    });
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
        await this.#queue(method, meta.require)
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
    this.#listener.close();
    this.#redis.disconnect();
  }
}

/** Deletes a submission key if it still names this job. KEYS: the key. ARGV: the job's id. */
const releaseKeyScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
