import { setMaxListeners } from "node:events";
import { type Job, UnrecoverableError, Worker } from "bullmq";
import { Redis } from "ioredis";
import { blamesServer } from "../pool/task-engine.js";
import { ClientError } from "../rpc/client-error.js";
import { Status, statusName } from "../rpc/grpc-status.js";
import type { MethodSpec } from "../rpc/method-spec.js";
import type { Labels } from "../rpc/server-labels.js";
import { endRpcSpan, startConsumerSpan, tracingOn, withContext } from "../tracing/spans.js";
import { repeatedField } from "../wire/repeated-field.js";
import {
  bullPrefix,
  cancelChannel,
  errorField,
  inputBytesScript,
  inputKey,
  type JobMeta,
  jobKey,
  replyField,
  settledChannel,
  settleScript,
  type TaskData,
  taskQueueName,
} from "./job-keys.js";
import { JobQueue, type TaskInput } from "./job-queue.js";
import { metRequirements, requirementsChannel, requirementsKey, workerName } from "./job-requirements.js";
import { startScheduleWorker } from "./job-schedules.js";
import { type QueueLimits, queueLimits, tooLarge } from "./queue-limits.js";
import { parseQueueUrl, redact } from "./queue-url.js";
import { workerRedisOptions } from "./redis-client.js";
import { signOutcome } from "./result-signature.js";
import { checkedTaskData, checkTaskBytes, saneJobHash, TaskRefusal } from "./task-checks.js";

/** A reply of a method run in-process, as the host gives it (src/host/local-call.ts). */
export interface LocalReply {
  code: number;
  message: string;
  response: Buffer;
}

/** What a queue worker needs of the server it runs in: its methods, and a way to run one. */
export interface LocalInvoker {
  localMethods(): MethodSpec[];
  invoke(
    path: string,
    requests: Buffer[],
    context?: { peer?: string; signal?: AbortSignal },
  ): Promise<LocalReply>;
}

export interface QueueWorkerOptions {
  /** redis://[:PASS@]HOST[:PORT][/DB] or rediss://... */
  url: string;
  server: LocalInvoker;
  /** Tasks of each method run at once: the server's worker threads. */
  concurrency: number;
  /**
   * How long a task's lock lasts without renewal (default 30 s): a worker killed mid-task has its
   * task taken again by another this long after (BullMQ's stalled-job check runs as often).
   */
  lockMs?: number;
  /** Longest a task may run before it is cancelled (the server's --max-deadline-ms). */
  maxTaskMs?: number;
  /** The inputs it takes (default the queue's, 64 MiB a task): checked before anything is decoded. */
  limits?: Partial<QueueLimits>;
  /**
   * The server's bearer token (--token-file): every outcome it records is signed with it, so
   * that clients given the token refuse outcomes written into Redis by anyone else.
   */
  signingKey?: string;
  /**
   * The server's labels (--label): besides its methods' base queues, it consumes the queues of
   * every submitted requirement they meet (src/queue/job-requirements.ts), and names its base
   * queues' connections with them, so that clients see who may take a job.
   */
  labels?: Labels;
  /** How often it looks for requirements submitted since (default 5 s; each is also announced). */
  requirementsPollMs?: number;
  log: (message: string) => void;
  /** Metrics (the server's --metrics): jobs and tasks taken, tasks done or failed, stalled jobs re-taken. */
  observer?: {
    taken(method: string, tasks: number, retaken: boolean): void;
    task(method: string, ok: boolean): void;
  };
}

export interface RunningQueueWorker {
  /** The queue, its password hidden. */
  shown: string;
  /** The methods whose tasks it takes. */
  methods: string[];
  /** Stops taking tasks; lets the running ones finish for up to graceMs, then gives them back to the queue. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Methods a queue may run: those whose proto says a second run is harmless (idempotency_level
 * IDEMPOTENT or NO_SIDE_EFFECTS), since a task whose worker died is run again. The framework's own
 * (info, batch, sessions) are not tasks.
 */
export function queueableMethods(methods: MethodSpec[]): MethodSpec[] {
  return methods.filter((m) => m.idempotency !== "UNKNOWN" && !m.path.startsWith("/rpcpool.pool.v1."));
}

/**
 * Makes a server a worker of the queue: one BullMQ worker per hosted method it may run, each
 * taking as many tasks at once as the server has worker threads, and running each through the
 * method's own handler, as a gRPC call runs. A task that fails on its input (any status but the
 * ones that blame the server, the pool's rule) fails at once; others are retried with back-off
 * until the job's attempts are spent. Outcomes go to the job's hash in Redis (src/queue/job-keys.ts).
 */
export async function startQueueWorker(options: QueueWorkerOptions): Promise<RunningQueueWorker> {
  const address = parseQueueUrl(options.url);
  // One connection for the workers' commands and ours; BullMQ duplicates it for its blocking reads.
  const redis = new Redis(workerRedisOptions(address));
  const say = (message: string) => options.log(redact(message, address.secret));
  let lastError = "";
  redis.on("error", (error) => {
    // One line per kind of trouble, not one per reconnection attempt.
    if (error.message !== lastError) say(`queue ${address.shown}: ${error.message}`);
    lastError = error.message;
  });
  redis.defineCommand("rpcpoolSettle", { lua: settleScript });
  redis.defineCommand("rpcpoolInputBytes", { numberOfKeys: 1, lua: inputBytesScript });
  const commands = redis as Redis & {
    rpcpoolSettle(...a: unknown[]): Promise<number>;
    rpcpoolInputBytes(key: string, limit: number): Promise<number>;
  };
  const limits = queueLimits(options.limits);
  /**
   * The running BullMQ jobs' cancellers, by rpcpool job id: `rpcpool cancel` publishes the job's id
   * on cancelChannel, to every worker of the queue, on whatever machine; this one aborts its tasks
   * of that job (the hosted handlers' context.signal, a worker thread's run).
   */
  const running = new Map<string, Set<AbortController>>();
  const cancelled = (job: string) => new ClientError(Status.CANCELLED, `job ${job} was cancelled`);
  const listener = redis.duplicate();
  listener.on("error", () => {});
  listener.on("message", (channel: string, message: string) => {
    if (channel === requirementsChannel) return consume([message]);
    for (const controller of running.get(message) ?? []) controller.abort(cancelled(message));
  });
  listener
    .subscribe(cancelChannel, requirementsChannel)
    .catch((error: Error) => say(`queue ${address.shown}: ${error.message}`));
  /**
   * Records outcomes of a job's tasks in one call (one round trip, however many tasks), each
   * signed when the server has a token: over the job, the task, the method that ran and the bytes.
   */
  const settle = (job: string, method: string, outcomes: Outcome[]) => {
    if (outcomes.length === 0) return Promise.resolve(0);
    const key = options.signingKey;
    const keys = [jobKey(job), ...outcomes.map((o) => inputKey(job, o.index))];
    const args = [
      settledChannel(job),
      ...outcomes.flatMap((o) => [
        String(o.index),
        o.field,
        o.value,
        key === undefined ? "" : signOutcome(key, job, o.index, method, o.field, o.value),
      ]),
    ];
    return commands.rpcpoolSettle(keys.length, ...keys, ...args);
  };
  /**
   * Records each task's outcome as it finishes, so that a worker's death costs only the tasks
   * still running and a slow task does not hold back the others' results. One call in flight per
   * BullMQ job: outcomes that come while it is under way go together in the next (a job of many
   * tiny tasks costs a few round trips, not one per task; a lone outcome goes at once).
   */
  const recorder = (job: string, method: string) => {
    let pending: Outcome[] = [];
    let next: Promise<unknown> | undefined; // the call that will carry `pending`
    let running: Promise<unknown> = Promise.resolve();
    return (outcome: Outcome): Promise<unknown> => {
      pending.push(outcome);
      next ??= running
        .catch(() => {})
        .then(() => new Promise((resolve) => setImmediate(resolve)))
        .then(() => {
          const now = pending;
          pending = [];
          next = undefined;
          running = settle(job, method, now);
          return running;
        });
      return next;
    };
  };
  /**
   * Fails a BullMQ job that may not run, recording the reason as the outcome of each of its tasks
   * (found from its BullMQ id and the job's record, not from its data, which may be what is wrong).
   */
  const refuse = async (bullId: string | undefined, method: string, refusal: TaskRefusal) => {
    const match = /^(.+)-(\d+)$/.exec(bullId ?? "");
    if (match) {
      const [, job, first] = match as unknown as [string, string, string];
      let meta: JobMeta | undefined;
      try {
        meta = JSON.parse((await redis.hget(jobKey(job), "meta")) ?? "null") as JobMeta;
      } catch {}
      const count = Number.isSafeInteger(meta?.tasks) ? Math.min(meta!.tasks, 1e6) : 0;
      const value = failure(refusal.code, refusal.message);
      const tasks = [...Array(count).keys()].filter((i) => (meta?.chunk?.[i] ?? i) === Number(first));
      await settle(
        job,
        method,
        tasks.map((index) => ({ index, field: errorField(index), value })),
      );
    }
    throw new UnrecoverableError(`${statusName(refusal.code)}: ${refusal.message}`);
  };
  const lockMs = options.lockMs ?? 30_000;

  /** One task's run through the method's handler: its request messages, then its reply. */
  const runOne = async (
    data: TaskData,
    method: string,
    task: TaskData["tasks"][number],
    signal: AbortSignal,
  ): Promise<LocalReply> => {
    if (data.reduce) return runReduce(data, method, task.index, signal);
    if (!task.inline) {
      // Counted in Redis first: an input over the limit is never read (its inline peers were
      // counted by checkedTaskData by their base64 length).
      const key = inputKey(data.job, task.index);
      const bytes = await commands.rpcpoolInputBytes(key, limits.maxTaskBytes);
      try {
        checkTaskBytes(bytes, `task ${task.index + 1}`, limits);
      } catch (error) {
        const refusal = error as TaskRefusal;
        return { code: refusal.code, message: refusal.message, response: Buffer.alloc(0) };
      }
    }
    const requests = task.inline
      ? task.inline.map((b) => Buffer.from(b, "base64"))
      : await redis.lrangeBuffer(inputKey(data.job, task.index), 0, -1);
    if (requests.length === 0) {
      return { code: Status.NOT_FOUND, message: "the task's input has expired", response: Buffer.alloc(0) };
    }
    // The queue's own method, never one the data names (checkedTaskData refused any other).
    return options.server.invoke(method, requests, { peer: `queue ${address.shown}`, signal });
  };

  /**
   * A job's reduce step (JobMeta.reduce): `method` on `{ repeated V parts = 1; }` of the other tasks'
   * replies, in task order, read from the job's record once they have all settled (BullMQ takes a
   * flow's parent once its children are done; an outcome recorded late is waited for by a retry).
   * Refused when a task failed: a reduce without it would be wrong.
   */
  const runReduce = async (data: TaskData, method: string, index: number, signal: AbortSignal) => {
    const refusal = (code: number, message: string): LocalReply => ({
      code,
      message,
      response: Buffer.alloc(0),
    });
    let meta: JobMeta | undefined;
    try {
      meta = JSON.parse((await redis.hget(jobKey(data.job), "meta")) ?? "null") as JobMeta;
    } catch {}
    if (meta?.reduce?.index !== index || meta.reduce.method !== method || index !== meta.tasks - 1)
      return refusal(Status.PERMISSION_DENIED, "the task is not its job's reduce step; refused");
    const fields = await redis.hmgetBuffer(
      jobKey(data.job),
      ...[...Array(index).keys()].flatMap((i) => [replyField(i), errorField(i)]),
    );
    const replies: Buffer[] = [];
    let failed = 0;
    for (let i = 0; i < index; i++) {
      const reply = fields[2 * i];
      if (reply) replies.push(reply);
      else if (fields[2 * i + 1]) failed++;
      else return refusal(Status.UNAVAILABLE, `task ${i + 1} of the job has not settled yet`);
    }
    if (failed > 0)
      return refusal(Status.FAILED_PRECONDITION, `no reduce: ${failed} of ${index} tasks have no result`);
    const request = repeatedField(replies);
    if (request.byteLength > limits.maxTaskBytes) {
      const refused = tooLarge("the reduce step's input", request.byteLength, limits.maxTaskBytes);
      return refusal(refused.code, refused.details);
    }
    return options.server.invoke(method, [request], { peer: `queue ${address.shown}`, signal });
  };

  /**
   * A BullMQ job of `method`'s queue: its data checked first (task-checks.ts), then its tasks run
   * at once (as a batch's items do), each outcome recorded as it comes. A task that fails for a
   * reason that blames the server (the pool's rule) is left unrecorded and the BullMQ job fails,
   * to be retried with back-off while attempts remain: the retry, like a re-take after a worker
   * died, runs only the tasks still without an outcome. Any other failure is the task's outcome.
   */
  const runTasks = (method: string) => async (job: Job<TaskData>, _token?: string, signal?: AbortSignal) => {
    let data: TaskData;
    try {
      data = checkedTaskData(job.data, job.id, method, limits);
    } catch (error) {
      if (!(error instanceof TaskRefusal)) throw error;
      return refuse(job.id, method, error);
    }
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    // A retried or re-taken job runs only its tasks without an outcome (and none if its job expired).
    let tasks = data.tasks;
    if (job.attemptsMade > 0 || job.stalledCounter > 0 || tasks.some((t) => !t.inline)) {
      const check = redis.pipeline().hexists(jobKey(data.job), "keep");
      for (const t of tasks)
        check.hexists(jobKey(data.job), replyField(t.index)).hexists(jobKey(data.job), errorField(t.index));
      const answers = ((await check.exec()) ?? []).map(([, value]) => value === 1);
      if (!answers[0]) return;
      tasks = tasks.filter((_, i) => !answers[1 + 2 * i] && !answers[2 + 2 * i]);
    }
    options.observer?.taken(method, tasks.length, job.stalledCounter > 0);
    // Cancelled when BullMQ cancels the job (a forced close), past the server's longest deadline,
    // or by `rpcpool cancel` (cancelChannel, or the job's mark, looked at once while it starts).
    const cancel = new AbortController();
    setMaxListeners(0, cancel.signal); // every task of the job listens to it
    const stop = () => cancel.abort(signal?.reason ?? new Error("the task took too long"));
    const timer = setTimeout(stop, options.maxTaskMs ?? 24 * 3_600_000);
    signal?.addEventListener("abort", stop, { once: true });
    const mine = running.get(data.job) ?? new Set();
    mine.add(cancel);
    running.set(data.job, mine);
    const byCancel = () => cancel.signal.aborted && cancel.signal.reason instanceof ClientError;
    redis.hexists(jobKey(data.job), "cancelled").then(
      (marked) => {
        if (marked === 1) cancel.abort(cancelled(data.job));
      },
      () => {},
    );
    const record = recorder(data.job, method);
    let retry: ClientError | undefined;
    let refused: ClientError | undefined;
    let succeeded = false;
    try {
      await Promise.all(
        tasks.map(async (task) => {
          const reply = await tracedRun(method, data, task.index, () =>
            runOne(data, method, task, cancel.signal),
          );
          options.observer?.task(method, reply.code === Status.OK);
          const index = task.index;
          // Its outcome, CANCELLED, was recorded by the cancel; nothing to retry.
          if (byCancel()) return;
          if (reply.code === Status.OK) {
            succeeded = true;
            await record({ index, field: replyField(index), value: reply.response });
            return;
          }
          const error = new ClientError(reply.code, reply.message);
          if (blamesServer(error) && !lastAttempt) {
            retry ??= error;
            return;
          }
          refused ??= error;
          await record({ index, field: errorField(index), value: failure(reply.code, reply.message) });
        }),
      );
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", stop);
      mine.delete(cancel);
      if (mine.size === 0 && running.get(data.job) === mine) running.delete(data.job);
    }
    if (byCancel()) return;
    const retried = retry as ClientError | undefined;
    if (retried) throw new Error(`${retried.codeName}: ${retried.details}`);
    // A job all of whose tasks were refused failed for good: BullMQ shows it failed, not retried.
    const failed = refused as ClientError | undefined;
    if (failed && !succeeded) throw new UnrecoverableError(`${failed.codeName}: ${failed.details}`);
  };
  const methods = queueableMethods(options.server.localMethods()).map((m) => m.path);
  const labels = options.labels ?? {};
  /** A BullMQ worker on one of `method`'s queues: its base queue, or a requirement's. */
  const startWorker = (method: string, require?: Labels) => {
    const worker = new Worker<TaskData>(taskQueueName(method, require), runTasks(method), {
      // Only the base queues' connections carry the labels: one list (getWorkers) tells all.
      ...(require ? {} : { name: workerName(labels) }),
      autorun: false,
      connection: redis,
      prefix: bullPrefix,
      concurrency: options.concurrency,
      lockDuration: lockMs,
      stalledInterval: lockMs,
      // A task whose worker dies is taken again; one that kills its worker three times is given up.
      maxStalledCount: 2,
    });
    worker.on("error", (error) => {
      if (error.message !== lastError) say(`queue ${address.shown}: ${error.message}`);
      lastError = error.message;
    });
    // Failed for good without outcomes recorded: it stalled too often (its workers kept dying),
    // or its attempts ran out on errors of Redis itself. Its tasks without one get this failure.
    // Its tasks without an outcome get this failure; those that finished keep theirs.
    worker.on("failed", (job, error) => {
      if (!job || error instanceof UnrecoverableError || error.name === "UnrecoverableError") return;
      const spent = job.attemptsMade >= (job.opts.attempts ?? 1);
      if (!spent && !/stalled/i.test(error.message)) return;
      let data: TaskData;
      try {
        data = checkedTaskData(job.data, job.id, method, limits);
      } catch {
        return;
      }
      const value = failure(Status.UNAVAILABLE, `the task failed: ${error.message}`);
      settle(
        data.job,
        method,
        data.tasks.map(({ index }) => ({ index, field: errorField(index), value })),
      ).catch((e: Error) => say(`queue ${address.shown}: ${e.message}`));
    });
    // BullMQ decodes a job's data and options as it takes it: a job whose are not JSON would
    // throw there and stay active. Its hash is made safe first, and the job is refused.
    const backend = (worker as unknown as { backend: BullBackend }).backend;
    const exec = backend.execCommand.bind(backend);
    backend.execCommand = async (client, name, args) => {
      const reply = await exec(client, name, args);
      if (name === "moveToActive" && Array.isArray(reply)) saneJobHash(reply[0]);
      return reply;
    };
    worker.run().catch((error: Error) => say(`queue ${address.shown}: ${error.message}`));
    return worker;
  };
  const workers: Array<{ close(force?: boolean): Promise<void> }> = methods.map((method) =>
    startWorker(method),
  );
  // The requirement queues its labels meet: those submitted before it started, then each one
  // announced, and every few seconds a look for one whose announcement it missed.
  const consumed = new Set<string>();
  let closing = false;
  const consume = (texts: string[]) => {
    if (closing) return;
    for (const [text, require] of metRequirements(labels, texts)) {
      if (consumed.has(text)) continue;
      consumed.add(text);
      for (const method of methods) workers.push(startWorker(method, require));
    }
  };
  const lookForRequirements = () =>
    redis.smembers(requirementsKey).then(consume, (error: Error) => {
      if (error.message !== lastError) say(`queue ${address.shown}: ${error.message}`);
      lastError = error.message;
    });
  void lookForRequirements();
  const requirementsPoll = setInterval(lookForRequirements, options.requirementsPollMs ?? 5000);
  requirementsPoll.unref();
  // The repeating jobs' ticks (submit --every): each submits a run, as a client's submit would.
  let submitter: JobQueue | undefined;
  const schedules = startScheduleWorker(
    redis,
    async (template) => {
      submitter ??= new JobQueue(options.url, { limits: options.limits });
      const tasks: TaskInput[] = template.tasks.map((task) =>
        "failed" in task
          ? task
          : { method: task.method, requests: task.requests.map((b) => Buffer.from(b, "base64")) },
      );
      return (await submitter.submit(tasks, { ...template.options, every: undefined })).id;
    },
    (message) => {
      if (message !== lastError) say(`queue ${address.shown}: ${message}`);
      lastError = message;
    },
  );
  workers.push(schedules);
  return {
    shown: address.shown,
    methods,
    close: async (graceMs = 30_000) => {
      closing = true;
      clearInterval(requirementsPoll);
      // Not connected (Redis down, a wrong password): nothing runs, nothing to wait for.
      const wait = redis.status === "ready" ? graceMs : 0;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<"late">((resolve) => {
        timer = setTimeout(() => resolve("late"), wait);
      });
      const closed = Promise.all(workers.map((w) => w.close(wait === 0))).catch(() => {});
      if ((await Promise.race([closed, late])) === "late") {
        // Their locks lapse; another worker takes them after the stalled-job check.
        void Promise.all(workers.map((w) => w.close(true))).catch(() => {});
      }
      clearTimeout(timer);
      await submitter?.close();
      listener.disconnect();
      redis.disconnect();
    },
  };
}

/** An outcome to record: the task, its field (`r:I` or `e:I`) and its bytes. */
interface Outcome {
  index: number;
  field: string;
  value: Buffer | string;
}

/** The part of BullMQ's Redis backend (6.x) the worker wraps: its script calls. */
interface BullBackend {
  execCommand(client: unknown, name: string, args: unknown[]): Promise<unknown>;
}

function failure(code: number, message: string): string {
  return JSON.stringify({ code, message });
}

/**
 * One task's run in a span of the trace that submitted it (its stored `traceparent`): the method's
 * own span (call-context.ts) is its child. As it is without tracing.
 */
function tracedRun(
  method: string,
  data: TaskData,
  index: number,
  run: () => Promise<LocalReply>,
): Promise<LocalReply> {
  if (!tracingOn()) return run();
  const traced = startConsumerSpan(`queue run ${method.slice(1)}`, data.trace, {
    "rpcpool.job": data.job,
    "rpcpool.task": index,
  });
  return withContext(traced.context, run).then(
    (reply) => {
      endRpcSpan(
        traced.span,
        reply.code === Status.OK ? undefined : { code: reply.code, message: reply.message },
        "server",
      );
      return reply;
    },
    (error: unknown) => {
      endRpcSpan(traced.span, error, "server");
      throw error;
    },
  );
}
