import { type Job, UnrecoverableError, Worker } from "bullmq";
import { Redis } from "ioredis";
import { blamesServer } from "../pool/task-engine.js";
import { ClientError } from "../rpc/client-error.js";
import { Status } from "../rpc/grpc-status.js";
import type { MethodSpec } from "../rpc/method-spec.js";
import {
  bullPrefix,
  errorField,
  inputKey,
  jobKey,
  replyField,
  settledChannel,
  settleScript,
  type TaskData,
  taskQueueName,
} from "./job-keys.js";
import { parseQueueUrl, redact } from "./queue-url.js";
import { workerRedisOptions } from "./redis-client.js";

/** A reply of a method run in-process, as the host gives it (src/host/local-call.ts). */
export interface LocalReply {
  code: number;
  message: string;
  response: Buffer;
}

/** What a queue worker needs of the server it runs in: its methods, and a way to run one. */
export interface LocalInvoker {
  localMethods(): MethodSpec[];
  invoke(path: string, requests: Buffer[], context?: { peer?: string; signal?: AbortSignal }): Promise<LocalReply>;
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
  log: (message: string) => void;
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
  redis.defineCommand("rpcpoolSettle", { numberOfKeys: 2, lua: settleScript });
  const settle = (data: TaskData, field: string, value: Buffer | string) =>
    (redis as Redis & { rpcpoolSettle(...args: unknown[]): Promise<number> }).rpcpoolSettle(
      jobKey(data.job),
      inputKey(data.job, data.index),
      field,
      value,
      settledChannel(data.job),
      String(data.index),
    );
  const lockMs = options.lockMs ?? 30_000;
  const runTask = async (job: Job<TaskData>, _token?: string, signal?: AbortSignal) => {
    const data = job.data;
    // Small inputs ride in the task: no round trip before the run. A task run again after its
    // worker died having recorded the outcome is harmless (its methods are idempotent), and the
    // first outcome is the one kept (settleScript).
    const requests = data.inline
      ? data.inline.map((b) => Buffer.from(b, "base64"))
      : await redis.lrangeBuffer(inputKey(data.job, data.index), 0, -1);
    if (requests.length === 0) {
      // Its job expired (nothing to do), or its input did.
      if ((await redis.hexists(jobKey(data.job), "keep")) === 0) return;
      await settle(data, errorField(data.index), failure(Status.NOT_FOUND, "the task's input has expired"));
      throw new UnrecoverableError("the task's input has expired");
    }
    const deadline = AbortSignal.timeout(options.maxTaskMs ?? 24 * 3_600_000);
    const reply = await options.server.invoke(data.method, requests, {
      peer: `queue ${address.shown}`,
      signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
    });
    if (reply.code === Status.OK) {
      await settle(data, replyField(data.index), reply.response);
      return;
    }
    const error = new ClientError(reply.code, reply.message);
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (blamesServer(error) && !lastAttempt) throw new Error(`${error.codeName}: ${error.details}`);
    await settle(data, errorField(data.index), failure(reply.code, reply.message));
    throw new UnrecoverableError(`${error.codeName}: ${error.details}`);
  };
  const methods = queueableMethods(options.server.localMethods()).map((m) => m.path);
  const workers = methods.map((method) => {
    const worker = new Worker<TaskData>(taskQueueName(method), runTask, {
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
    // Failed without an outcome recorded: it stalled too often (its workers kept dying).
    worker.on("failed", (job, error) => {
      if (!job || error instanceof UnrecoverableError || error.name === "UnrecoverableError") return;
      const data = job.data;
      const spent = job.attemptsMade >= (job.opts.attempts ?? 1);
      if (!spent && !/stalled/i.test(error.message)) return;
      void settle(data, errorField(data.index), failure(Status.UNAVAILABLE, `the task failed: ${error.message}`)).catch(
        (e: Error) => say(`queue ${address.shown}: ${e.message}`),
      );
    });
    return worker;
  });
  return {
    shown: address.shown,
    methods,
    close: async (graceMs = 30_000) => {
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
      redis.disconnect();
    },
  };
}

function failure(code: number, message: string): string {
  return JSON.stringify({ code, message });
}
