import { BatchServiceDefinition, type InvokeResult } from "../gen/rpcpool/pool/v1/batch.js";
import type { CallOptions } from "../rpc/call-options.js";
import { ClientError } from "../rpc/client-error.js";
import { Status as status } from "../rpc/grpc-status.js";
import type { MethodDefaults } from "../rpc/method-defaults.js";
import {
  type AnyServiceDefinition,
  type Idempotency,
  type MethodSpec,
  methodsOf,
  type RequestOf,
  type ResponseOf,
  type UnaryMethodName,
} from "../rpc/method-spec.js";
import { decodeStatus } from "../rpc/status-details.js";
import { BadReply, type ReplyCheck } from "./bad-reply.js";
import { CallCoalescer, type Coalescers } from "./call-coalescer.js";
import type { Outcome, RunOptions, TaskFn } from "./outcome.js";
import { settledAsCompleted, settledInOrder, settledInOrderStream } from "./outcome-streams.js";
import type { PoolServer } from "./server-connection.js";
import type { TaskEngine } from "./task-engine.js";
import type { RunSettings } from "./task-run.js";
import type { ValueHandle } from "./value-handle.js";

export interface ServiceOptions {
  /**
   * Retry this service's calls on another server when their server fails, whatever the proto
   * says. Without it, a method is retried exactly when its proto marks it IDEMPOTENT or
   * NO_SIDE_EFFECTS (read from a generic definition, or from what the servers report).
   */
  idempotent?: boolean;
  /** Default deadline of a call, in milliseconds (else the pool's per-method default). */
  timeoutMs?: number;
  /**
   * Checks each reply against its request (counts, required fields, finite numbers) and throws a
   * BadReply when it breaks its contract: the call then counts as its server's failure and moves
   * to another server. Batched replies are checked item by item.
   */
  checkReply?: ReplyCheck;
}

/** Options of a service's calls: the call's own and the run's. */
export type ServiceCallOptions = RunOptions &
  Pick<CallOptions, "timeoutMs" | "metadata"> & {
    /** Inputs per round trip, like Pool.map's chunksize: many tiny calls travel as one batch. */
    chunksize?: number;
    /** Retry even if the proto does not say the method may be (see ServiceOptions.idempotent). */
    idempotent?: boolean;
    /**
     * `apply` only: `false` sends this call on its own even when many are in flight (by default
     * plain concurrent applies of one method that wait for room travel as one batch).
     */
    coalesce?: boolean;
  };

type Inputs<T> = Iterable<T> | AsyncIterable<T>;

/** What a service client needs of its pool (the Pool provides it). */
export interface PoolRuns {
  /** The pool's coalescers of concurrent applies, by method and service options. */
  readonly coalescers: Coalescers;
  readonly engine: TaskEngine;
  readonly defaults: MethodDefaults;
  runSettings(options: RunOptions & { method?: string }): RunSettings;
  window(options: RunOptions): number;
  slots(): number;
  idempotencyOf(path: string): Idempotency | undefined;
  /** Runs a method on `server` and keeps its response there (`{ keep: true }`, docs/collectives.md). */
  keepOn<Req, Res>(
    server: PoolServer,
    method: MethodSpec<Req, Res>,
    requests: readonly Req[],
    options?: { signal?: AbortSignal },
  ): Promise<ValueHandle<Res>>;
}

/** Options of a call whose result stays on its server: the reply is the result's handle. */
export type KeepOptions = ServiceCallOptions & { keep: true };

const batchInvoke = methodsOf(BatchServiceDefinition).invoke!;

/**
 * A service over the whole pool: `pool.service(StatsServiceDefinition).map("describe", inputs)`
 * spreads calls of one method over every server, typed by the service's own messages.
 */
export class ServiceClient<D extends AnyServiceDefinition> {
  readonly methods: Record<string, MethodSpec>;

  constructor(
    readonly pool: PoolRuns,
    readonly definition: D,
    readonly options: ServiceOptions = {},
  ) {
    this.methods = methodsOf(definition, (path) => pool.idempotencyOf(path));
  }

  /**
   * One call, on the least busy server, with failover when the method may be retried. With
   * `{ keep: true }` the result stays on the server that computed it and the reply is its handle
   * (for `pool.gather`, `pool.reduce`, or tasks that run where it is).
   */
  async apply<K extends UnaryMethodName<D>>(
    method: K,
    request: RequestOf<D, K>,
    options: KeepOptions,
  ): Promise<ValueHandle<ResponseOf<D, K>>>;
  async apply<K extends UnaryMethodName<D>>(
    method: K,
    request: RequestOf<D, K>,
    options?: ServiceCallOptions,
  ): Promise<ResponseOf<D, K>>;
  async apply<K extends UnaryMethodName<D>>(
    method: K,
    request: RequestOf<D, K>,
    options: ServiceCallOptions & { keep?: boolean } = {},
  ): Promise<unknown> {
    if (options.keep) return (await this.#kept(method, [request], options))[0];
    if (coalescible(options)) {
      return this.#coalescer(method).call(request, options.signal) as Promise<ResponseOf<D, K>>;
    }
    return this.#applyOne(method, request, options) as Promise<ResponseOf<D, K>>;
  }

  /** One call through the engine, on the least busy server, with failover. */
  async #applyOne(method: string, request: unknown, options: ServiceCallOptions): Promise<unknown> {
    const [outcome] = await settledInOrder(this.pool.engine, [request], this.#callFn(method, options), {
      ...this.#settings(method, options),
      perServer: options.perServer ?? Number.POSITIVE_INFINITY,
    });
    if (!outcome!.ok) throw outcome!.error;
    return outcome!.value;
  }

  /**
   * The pool's coalescer of this method's plain applies (one per method, service options and reply check):
   * calls waiting for room travel together in one BatchService round trip.
   */
  #coalescer(method: string): CallCoalescer<unknown, unknown> {
    const spec = this.#spec(method);
    const key = `${spec.path} ${this.options.idempotent ?? ""} ${this.options.timeoutMs ?? ""}`;
    return this.pool.coalescers.get(
      key,
      this.options.checkReply,
      () =>
        new CallCoalescer({
          direct: (request, signal) => this.#applyOne(method, request, { signal }),
          batch: async (requests) => {
            const lengths = new Map([[0, requests.length]]);
            const [batch] = await settledInOrder(this.pool.engine, [requests], this.#batchFn(method, {}), {
              ...this.#settings(method, {}),
              perServer: Number.POSITIVE_INFINITY,
            });
            return [...itemOutcomes(batch!, requests.length, lengths)];
          },
          // Two calls per worker thread in flight keep every server busy; the rest wait and coalesce.
          limit: () => 2 * this.pool.slots(),
          path: spec.path,
        }),
    );
  }

  /**
   * Every input through `method` across the servers; results in input order; throws the first
   * failure. With `{ keep: true }`, each result stays on its server: the handles, in input order.
   */
  async map<K extends UnaryMethodName<D>>(
    method: K,
    inputs: Inputs<RequestOf<D, K>>,
    options: KeepOptions,
  ): Promise<ValueHandle<ResponseOf<D, K>>[]>;
  async map<K extends UnaryMethodName<D>>(
    method: K,
    inputs: Inputs<RequestOf<D, K>>,
    options?: ServiceCallOptions,
  ): Promise<ResponseOf<D, K>[]>;
  async map<K extends UnaryMethodName<D>>(
    method: K,
    inputs: Inputs<RequestOf<D, K>>,
    options: ServiceCallOptions & { keep?: boolean } = {},
  ): Promise<unknown[]> {
    if (options.keep) return this.#kept(method, inputs, options);
    const outcomes = await this.mapSettled(method, inputs, options);
    return outcomes.map((outcome) => {
      if (!outcome.ok) throw outcome.error;
      return outcome.value;
    });
  }

  /** Every outcome, in input order. */
  async mapSettled<K extends UnaryMethodName<D>>(
    method: K,
    inputs: Inputs<RequestOf<D, K>>,
    options: ServiceCallOptions = {},
  ): Promise<Outcome<ResponseOf<D, K>>[]> {
    const chunksize = chunksizeOf(options);
    if (chunksize === 1) {
      const fn = this.#callFn(method, options) as TaskFn<RequestOf<D, K>, ResponseOf<D, K>>;
      return settledInOrder(this.pool.engine, inputs, fn, this.#settings(method, options));
    }
    const outcomes: Outcome<unknown>[] = [];
    const lengths = new Map<number, number>();
    for (const batch of await settledInOrder(
      this.pool.engine,
      chunked(inputs, chunksize, lengths),
      this.#batchFn(method, options),
      { ...this.#settings(method, options), perWorker: 2 },
    )) {
      for (const outcome of itemOutcomes(batch, chunksize, lengths)) outcomes.push(outcome);
    }
    return outcomes as Outcome<ResponseOf<D, K>>[];
  }

  /** Results in input order as they become ready (Pool.imap), in bounded memory; throws at the first failure. */
  async *imap<K extends UnaryMethodName<D>>(
    method: K,
    inputs: Inputs<RequestOf<D, K>>,
    options: ServiceCallOptions = {},
  ): AsyncGenerator<ResponseOf<D, K>> {
    for await (const outcome of this.#stream(method, inputs, options, settledInOrderStream)) {
      if (!outcome.ok) throw outcome.error;
      yield outcome.value;
    }
  }

  /** Outcomes as they complete (Dask's as_completed); each carries its input's index. Bounded memory. */
  asCompleted<K extends UnaryMethodName<D>>(
    method: K,
    inputs: Inputs<RequestOf<D, K>>,
    options: ServiceCallOptions = {},
  ): AsyncGenerator<Outcome<ResponseOf<D, K>>> {
    return this.#stream(method, inputs, options, settledAsCompleted);
  }

  async *#stream<K extends UnaryMethodName<D>>(
    method: K,
    inputs: Inputs<RequestOf<D, K>>,
    options: ServiceCallOptions,
    streamOf: typeof settledAsCompleted,
  ): AsyncGenerator<Outcome<ResponseOf<D, K>>> {
    const chunksize = chunksizeOf(options);
    const settings = this.#settings(method, options);
    // The window counts inputs; batches travel whole, and each server keeps some in the pipeline.
    const window = options.window
      ? Math.max(1, Math.ceil(options.window / chunksize))
      : Math.max(Math.ceil(this.pool.window(options) / chunksize), 8 * this.pool.slots());
    if (chunksize === 1) {
      yield* streamOf(
        this.pool.engine,
        inputs,
        this.#callFn(method, options),
        settings,
        window,
      ) as AsyncGenerator<Outcome<ResponseOf<D, K>>>;
      return;
    }
    const lengths = new Map<number, number>();
    // Two batches per worker thread: one runs while the other travels.
    for await (const batch of streamOf(
      this.pool.engine,
      chunked(inputs, chunksize, lengths),
      this.#batchFn(method, options),
      { ...settings, perWorker: 2 },
      window,
    )) {
      yield* itemOutcomes(batch, chunksize, lengths) as Iterable<Outcome<ResponseOf<D, K>>>;
    }
  }

  /** Calls whose results stay on their servers (StoreService/Keep), one a task, in input order. */
  async #kept(method: string, inputs: Inputs<unknown>, options: ServiceCallOptions): Promise<unknown[]> {
    const spec = this.#spec(method);
    const outcomes = await settledInOrder(
      this.pool.engine,
      inputs,
      (request, server, signal) => this.pool.keepOn(server, spec, [request], { signal }),
      this.#settings(method, options),
    );
    return outcomes.map((outcome) => {
      if (!outcome.ok) throw outcome.error;
      return outcome.value;
    });
  }

  /**
   * The run's settings: a task whose call may have reached its server runs again as the proto (or
   * the caller: `idempotent`, or `retries` of its own) allows; only servers hosting the method.
   */
  #settings(method: string, options: ServiceCallOptions) {
    const spec = this.#spec(method);
    const idempotent =
      options.idempotent ??
      this.options.idempotent ??
      (options.retries ? true : this.pool.defaults.policy(spec).retry);
    return this.pool.runSettings({ ...options, method: spec.path, idempotent });
  }

  #spec(method: string): MethodSpec {
    const spec = this.methods[method];
    if (!spec) throw new ClientError(status.INVALID_ARGUMENT, `the service has no method ${method}`);
    if (spec.idempotency === "UNKNOWN") {
      // Servers that connected after this client was made may know what the definition does not.
      const known = this.pool.idempotencyOf(spec.path);
      if (known) this.methods[method] = { ...spec, idempotency: known };
    }
    return this.methods[method]!;
  }

  #callOptions(options: ServiceCallOptions, signal: AbortSignal): CallOptions {
    return { signal, timeoutMs: options.timeoutMs ?? this.options.timeoutMs, metadata: options.metadata };
  }

  #callFn(method: string, options: ServiceCallOptions): TaskFn<unknown, unknown> {
    const spec = this.#spec(method);
    if (spec.requestStream || spec.responseStream) {
      throw new ClientError(status.INVALID_ARGUMENT, `${method} is a streaming method: call it on a server`);
    }
    const check = this.options.checkReply;
    return async (request, server: PoolServer, signal) => {
      const reply = await server.unary(spec, request, this.#callOptions(options, signal));
      check?.(method, request, reply, server.address);
      return reply;
    };
  }

  /**
   * A task that sends a chunk of requests in one BatchService round trip. A reply with another
   * count of results, or an item that does not decode (or fails the check), fails the batch as
   * its server's fault: the whole batch runs again elsewhere.
   */
  #batchFn(method: string, options: ServiceCallOptions): TaskFn<unknown[], BatchItem[]> {
    const spec = this.#spec(method);
    const check = this.options.checkReply;
    return async (requests, server, signal) => {
      const reply = await server.unary(
        batchInvoke,
        { method: spec.path, requests: requests.map((r) => spec.requestSerialize(r)) },
        {
          ...this.#callOptions(options, signal),
          timeoutMs: options.timeoutMs ?? this.options.timeoutMs ?? this.pool.defaults.policy(spec).timeoutMs,
        },
      );
      if (reply.results.length !== requests.length) {
        throw new BadReply(
          server.address,
          `a batch of ${requests.length} requests came back with ${reply.results.length} results`,
        );
      }
      return reply.results.map((item, j) => {
        if (item.code !== status.OK) return { item };
        let value: unknown;
        try {
          value = spec.responseDeserialize(item.response);
        } catch (error) {
          throw new BadReply(server.address, `result ${j + 1} of a batch does not decode: ${error}`);
        }
        check?.(method, requests[j], value, server.address);
        return { item, value };
      });
    };
  }
}

/**
 * A plain apply may wait and travel in a batch: one with nothing of its own but a signal. Calls
 * with a deadline, metadata, a choice of servers, listeners or retry rules of their own go alone,
 * as does any call with `coalesce: false`.
 */
function coalescible(options: ServiceCallOptions): boolean {
  if (options.coalesce === false) return false;
  for (const key of Object.keys(options) as Array<keyof ServiceCallOptions>) {
    if (key !== "signal" && key !== "coalesce" && options[key] !== undefined) return false;
  }
  return true;
}

function chunksizeOf(options: ServiceCallOptions): number {
  return Math.max(1, Math.floor(options.chunksize ?? 1));
}

/**
 * Groups inputs into arrays of `size`, lazily, for sync and async sources alike, noting each
 * chunk's length by its index (a failed batch fails as many items as it carried).
 */
async function* chunked<T>(
  inputs: Inputs<T>,
  size: number,
  lengths: Map<number, number>,
): AsyncGenerator<T[]> {
  let chunk: T[] = [];
  let index = 0;
  for await (const input of inputs) {
    chunk.push(input);
    if (chunk.length === size) {
      lengths.set(index++, size);
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) {
    lengths.set(index, chunk.length);
    yield chunk;
  }
}

/** One result of a batch, its reply decoded (and checked) when it succeeded. */
interface BatchItem {
  item: InvokeResult;
  value?: unknown;
}

/** One outcome per item of a batch: a failed batch fails each item; an item keeps its own status. */
function* itemOutcomes(
  batch: Outcome<BatchItem[]>,
  size: number,
  lengths: Map<number, number>,
): Generator<Outcome<unknown>> {
  const first = batch.index * size;
  const length = lengths.get(batch.index) ?? size;
  lengths.delete(batch.index);
  if (!batch.ok) {
    for (let j = 0; j < length; j++) yield { ...batch, index: first + j };
    return;
  }
  for (const [j, { item, value }] of batch.value.entries()) {
    const index = first + j;
    if (item.code === status.OK) {
      yield {
        ok: true,
        index,
        value,
        server: batch.server,
        attempts: batch.attempts,
      };
    } else {
      const errorDetails = item.statusDetails.length > 0 ? safeDetails(item.statusDetails) : undefined;
      const error = new ClientError(item.code, item.message, { server: batch.server, errorDetails });
      yield { ok: false, index, error, server: batch.server, attempts: batch.attempts };
    }
  }
}

function safeDetails(bytes: Uint8Array) {
  try {
    return decodeStatus(bytes).details;
  } catch {
    return undefined;
  }
}
