import { ClientError } from "../rpc/client-error.js";
import { Status } from "../rpc/grpc-status.js";
import {
  type AnyServiceDefinition,
  type ClientStreamMethodName,
  type MethodName,
  type MethodSpec,
  methodsOf,
  type RequestOf,
  type ResponseOf,
  serviceNameOf,
  type UnaryMethodName,
} from "../rpc/method-spec.js";
import type { JobHandle } from "./job-handle.js";
import type { TaskOutcome } from "./job-keys.js";
import type { JobResult, JobStatus, SubmitOptions, TaskInput } from "./job-types.js";

/**
 * The typed face of the queue (docs/queue.md, "The typed API"): `queue.service(D).submit(method,
 * inputs)` encodes each input with the definition's own codec, one task an input, and the job's
 * handle decodes the replies with it; nothing per method is written by hand. The same path serves
 * the lesson's queued commands and `rpcpool submit SERVICE/METHOD` (a definition made from
 * reflected descriptors).
 */

/**
 * An input that failed before it could be a task (a line that is not a request, a file that cannot
 * be read): recorded as that task's outcome at submission, in its place, with this status.
 */
export class FailedInput {
  constructor(
    readonly code: number,
    readonly message: string,
  ) {}

  static of(error: unknown): FailedInput {
    const e = ClientError.from(error);
    return new FailedInput(e.code, e.details);
  }
}

/** The methods a queue runs: one reply each (a task's outcome is one reply or one status). */
export type QueueableMethodName<D> = UnaryMethodName<D> | ClientStreamMethodName<D>;

/** One task's input: a request, or for a client-streaming method the stream's requests. */
export type TaskInputOf<D, K extends MethodName<D>> =
  K extends ClientStreamMethodName<D>
    ? Iterable<RequestOf<D, K>> | AsyncIterable<RequestOf<D, K>>
    : RequestOf<D, K>;

/** One task's outcome, decoded: its reply, or its status as the ClientError a call would throw. */
export type TaskResult<T> =
  | { ok: true; index: number; value: T }
  | { ok: false; index: number; error: ClientError };

export interface ServiceQueueOptions {
  /**
   * Checks each decoded reply (pool.service's `checkReply`, without the request: the reader of a
   * job may not have it); what it throws becomes that task's failure.
   */
  checkReply?: (method: string, reply: unknown, task: number) => void;
}

/** A submit's options: JobQueue.submit's, the reduce step named by its key in the definition. */
export type ServiceSubmitOptions<D, T extends MethodName<D> = MethodName<D>> = Omit<SubmitOptions, "then"> & {
  /**
   * The reduce step (`--then`, Celery's chord): a method of the same service whose request is
   * `{ repeated V parts = 1; }` of the tasks' replies; the handle's `reduced()` is its reply.
   */
  then?: T;
};

/** What a ServiceQueue needs of its JobQueue (structurally: no import cycle). */
export interface JobSubmitter {
  submit(tasks: TaskInput[], options?: SubmitOptions): Promise<JobHandle>;
  job(id: string): JobHandle;
}

type Inputs<T> = Iterable<T> | AsyncIterable<T>;

/** A service's methods on the queue, typed by its definition (pool.service's counterpart). */
export class ServiceQueue<D extends AnyServiceDefinition> {
  readonly methods: Record<string, MethodSpec>;

  constructor(
    readonly queue: JobSubmitter,
    readonly definition: D,
    readonly options: ServiceQueueOptions = {},
  ) {
    this.methods = methodsOf(definition);
  }

  /**
   * One task per input (a request; for a client-streaming method, the stream's requests), encoded
   * by the definition, submitted as one job. The handle's results are the method's replies.
   */
  async submit<K extends QueueableMethodName<D>, T extends MethodName<D> = never>(
    method: K,
    inputs: Inputs<TaskInputOf<D, K> | FailedInput>,
    options: ServiceSubmitOptions<D, T> = {},
  ): Promise<ServiceJob<ResponseOf<D, K>, [T] extends [never] ? unknown : ResponseOf<D, T>>> {
    const spec = this.#queueable(method);
    const tasks: TaskInput[] = [];
    for await (const input of inputs) {
      if (input instanceof FailedInput) {
        tasks.push({ failed: { code: input.code, message: input.message } });
      } else if (spec.requestStream) {
        const requests: Buffer[] = [];
        for await (const request of input as Inputs<unknown>) requests.push(spec.requestSerialize(request));
        tasks.push({ method: spec.path, requests });
      } else tasks.push({ method: spec.path, requests: [spec.requestSerialize(input)] });
    }
    const reduce = options.then === undefined ? undefined : this.#spec(options.then);
    const then = reduce?.path;
    const kind = options.kind ?? spec.path.slice(1);
    const handle = await this.queue.submit(tasks, { ...options, kind, then });
    return new ServiceJob(handle, spec, reduce, this.options.checkReply);
  }

  /** A typed handle on a job of `method` submitted earlier (elsewhere), by its id. */
  job<K extends QueueableMethodName<D>>(id: string, method: K): ServiceJob<ResponseOf<D, K>> {
    return new ServiceJob(this.queue.job(id), this.#spec(method), undefined, this.options.checkReply);
  }

  #spec(method: string): MethodSpec {
    const spec = this.methods[method];
    if (!spec) {
      throw new ClientError(
        Status.INVALID_ARGUMENT,
        `${serviceNameOf(this.definition)} has no method ${method}`,
      );
    }
    return spec;
  }

  /**
   * Refused here rather than left waiting for ever: the workers take only methods with one reply
   * whose proto says a second run is harmless (a task whose server died runs again).
   */
  #queueable(method: string): MethodSpec {
    const spec = this.#spec(method);
    if (spec.responseStream) {
      throw new ClientError(
        Status.INVALID_ARGUMENT,
        `${spec.path.slice(1)} streams its replies: a queued task keeps one reply (use the pool)`,
      );
    }
    if (spec.idempotency === "UNKNOWN") {
      throw new ClientError(
        Status.FAILED_PRECONDITION,
        `${spec.path.slice(1)} is not marked idempotent (option idempotency_level = IDEMPOTENT or NO_SIDE_EFFECTS): queue workers never take it, since a task whose server died runs again`,
      );
    }
    return spec;
  }
}

/**
 * A submitted job of one method, its results typed by the method's reply (and a reduce step's by
 * its own). `results`, `settled` and `reduced` wait for the job by default (`{ wait: false }`:
 * FAILED_PRECONDITION while it runs).
 */
export class ServiceJob<Res, Reduced = unknown> {
  constructor(
    /** The untyped handle (raw outcomes: `handle.result()`). */
    readonly handle: JobHandle,
    readonly method: MethodSpec,
    readonly reduceMethod?: MethodSpec,
    readonly checkReply?: ServiceQueueOptions["checkReply"],
  ) {}

  get id(): string {
    return this.handle.id;
  }

  /** A repeating job's schedule (`every`): only cancel() applies. */
  get schedule(): boolean {
    return this.handle.schedule;
  }

  status(): Promise<JobStatus> {
    return this.handle.status();
  }

  /** Cancels the job: its waiting tasks removed, running ones aborted; how many it stopped. */
  cancel(): Promise<number> {
    return this.handle.cancel();
  }

  /** The raw outcomes (reply bytes or statuses). */
  result(options: { wait?: boolean; signal?: AbortSignal } = {}): Promise<JobResult> {
    return this.handle.result(options);
  }

  /** Every task's outcome, decoded, in input order. */
  async settled(options: { wait?: boolean; signal?: AbortSignal } = {}): Promise<TaskResult<Res>[]> {
    return decodedOutcomes<Res>(await this.handle.result(options), this.method, this.checkReply);
  }

  /** Waits until every task has settled: their outcomes, decoded (settled() that always waits). */
  wait(options: { signal?: AbortSignal } = {}): Promise<TaskResult<Res>[]> {
    return this.settled({ ...options, wait: true });
  }

  /** Every task's reply in input order; throws the first failure (as pool.service(D).map). */
  async results(options: { wait?: boolean; signal?: AbortSignal } = {}): Promise<Res[]> {
    return (await this.settled(options)).map((outcome) => {
      if (!outcome.ok) throw outcome.error;
      return outcome.value;
    });
  }

  /** The reduce step's reply (a job submitted with `then`); its failure thrown. */
  async reduced(options: { wait?: boolean; signal?: AbortSignal } = {}): Promise<Reduced> {
    const result = await this.handle.result(options);
    const method = this.reduceMethod;
    if (!result.reduce || !method) {
      throw new ClientError(Status.FAILED_PRECONDITION, `job ${this.id} has no reduce step`);
    }
    const outcome = decodedOutcome<Reduced>(result.reduce, method, result.outcomes.length, this.checkReply);
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }
}

/** A job's outcomes decoded by a method's codec (and checked), in task order. */
export function decodedOutcomes<Res>(
  result: JobResult,
  method: MethodSpec,
  check?: ServiceQueueOptions["checkReply"],
): TaskResult<Res>[] {
  return result.outcomes.map((outcome, index) => decodedOutcome<Res>(outcome, method, index, check));
}

/**
 * One outcome decoded: reply bytes that do not decode (or fail the check) are that task's failure,
 * DATA_LOSS, as a call's undecodable reply is; a status is the ClientError a call would throw.
 */
export function decodedOutcome<Res>(
  outcome: TaskOutcome,
  method: MethodSpec,
  index: number,
  check?: ServiceQueueOptions["checkReply"],
): TaskResult<Res> {
  if (!outcome.ok) return { ok: false, index, error: new ClientError(outcome.code, outcome.message) };
  let value: Res;
  try {
    value = method.responseDeserialize(outcome.response) as Res;
  } catch (error) {
    const message = `the reply of task ${index + 1} does not decode as ${method.path.slice(1)}'s: ${(error as Error).message}`;
    return { ok: false, index, error: new ClientError(Status.DATA_LOSS, message) };
  }
  try {
    check?.(method.name, value, index);
  } catch (error) {
    return { ok: false, index, error: ClientError.from(error) };
  }
  return { ok: true, index, value };
}
