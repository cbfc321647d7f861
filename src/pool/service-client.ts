import { ClientError } from "../rpc/client-error.js";
import { Status as status } from "../rpc/grpc-status.js";
import {
  type AnyServiceDefinition,
  type ClientStreamMethodName,
  type MethodSpec,
  methodsOf,
  type RequestOf,
  type ResponseOf,
  type UnaryMethodName,
} from "../rpc/method-spec.js";
import { CallCoalescer } from "./call-coalescer.js";
import { MethodCalls } from "./method-calls.js";
import type { Outcome } from "./outcome.js";
import { settledInOrder } from "./outcome-streams.js";
import type { PoolRuns } from "./pool-runs.js";
import {
  applyOne,
  asCompleted,
  type Inputs,
  imapValues,
  mapSettled,
  mapValues,
  valuesOf,
} from "./run-verbs.js";
import type {
  KeepOptions,
  ServiceCallOptions,
  ServiceOptions,
  StreamCallOptions,
} from "./service-options.js";
import {
  clientStreamCall,
  type DuplexMethodName,
  duplexCall,
  type PoolDuplexCall,
  type ServerStreamMethodName,
  type StreamCallContext,
  serverStreamCall,
} from "./stream-calls.js";
import type { ValueHandle } from "./value-handle.js";

export type {
  KeepOptions,
  ServiceCallOptions,
  ServiceOptions,
  StreamCallOptions,
} from "./service-options.js";

/**
 * A service over the whole pool: `pool.service(StatsServiceDefinition).map("describe", inputs)`
 * spreads calls of one method over every server, typed by the service's own messages. The run
 * verbs are Pool's own (run-verbs.ts), over the method's calls (method-calls.ts); the stream
 * calls are in stream-calls.ts.
 */
export class ServiceClient<D extends AnyServiceDefinition> {
  readonly methods: Record<string, MethodSpec>;
  readonly #runs: PoolRuns;
  /** What of the service's options sets its coalescers apart (they are fixed: made once, not per call). */
  readonly #coalescingKey: string;
  /** This client's coalescer of each method, once found in the pool's. */
  readonly #coalescers = new Map<string, CallCoalescer<unknown, unknown>>();

  /** Made by `pool.service(definition, options)`. */
  constructor(
    runs: PoolRuns,
    readonly definition: D,
    readonly options: ServiceOptions = {},
  ) {
    this.#runs = runs;
    this.methods = methodsOf(definition, (path) => runs.idempotencyOf(path));
    const { idempotent, timeoutMs, require, prefer, priority } = options;
    this.#coalescingKey = JSON.stringify({ idempotent, timeoutMs, require, prefer, priority });
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
    if (coalescible(options)) return this.#coalescer(method).call(request, options.signal);
    return applyOne(this.#calls(method), request, options);
  }

  /**
   * The pool's coalescer of this method's plain applies (one per method, service options and reply check):
   * calls waiting for room travel together in one BatchService round trip.
   */
  #coalescer(method: string): CallCoalescer<unknown, unknown> {
    // Looked up once per method: the pool's key is a string made from the path and options.
    const known = this.#coalescers.get(method);
    if (known) return known;
    const spec = this.#spec(method);
    let calls: MethodCalls | undefined;
    const coalescer = this.#runs.coalescers.get(
      `${spec.path} ${this.#coalescingKey}`,
      this.options.checkReply,
      () =>
        new CallCoalescer({
          direct: (request, signal) => applyOne(this.#calls(method), request, { signal }),
          // One MethodCalls for every batch (it keeps the batches' settings), made again only
          // when the method's spec changes (a server said more of its idempotency).
          batch: (requests) => {
            if (calls?.spec !== this.#spec(method)) calls = this.#calls(method);
            return calls.batch(requests);
          },
          // Up to two round trips per worker thread in flight keep every server busy (one runs
          // while the other travels), the second only when batches stay full (call-coalescer.ts);
          // the rest wait and coalesce (docs/performance.md).
          limit: () => 2 * this.#runs.slots(),
          least: () => this.#runs.slots(),
          path: spec.path,
        }),
    );
    this.#coalescers.set(method, coalescer);
    return coalescer;
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
    return mapValues(this.#calls(method), inputs, options);
  }

  /** Every outcome, in input order. */
  mapSettled<K extends UnaryMethodName<D>>(
    method: K,
    inputs: Inputs<RequestOf<D, K>>,
    options: ServiceCallOptions = {},
  ): Promise<Outcome<ResponseOf<D, K>>[]> {
    return mapSettled(this.#calls(method), inputs, options) as Promise<Outcome<ResponseOf<D, K>>[]>;
  }

  /** Results in input order as they become ready (Pool.imap), in bounded memory; throws at the first failure. */
  imap<K extends UnaryMethodName<D>>(
    method: K,
    inputs: Inputs<RequestOf<D, K>>,
    options: ServiceCallOptions = {},
  ): AsyncGenerator<ResponseOf<D, K>> {
    return imapValues(this.#calls(method), inputs, options) as AsyncGenerator<ResponseOf<D, K>>;
  }

  /** Outcomes as they complete (Dask's as_completed); each carries its input's index. Bounded memory. */
  asCompleted<K extends UnaryMethodName<D>>(
    method: K,
    inputs: Inputs<RequestOf<D, K>>,
    options: ServiceCallOptions = {},
  ): AsyncGenerator<Outcome<ResponseOf<D, K>>> {
    return asCompleted(this.#calls(method), inputs, options) as AsyncGenerator<Outcome<ResponseOf<D, K>>>;
  }

  /**
   * A server-streaming call on the least busy server: its replies as they come. A failure before
   * the first reply moves it to another server where the method may be retried; after one, it
   * throws. Leaving the loop early cancels the call.
   */
  serverStream<K extends ServerStreamMethodName<D>>(
    method: K,
    request: RequestOf<D, K>,
    options: StreamCallOptions = {},
  ): AsyncGenerator<ResponseOf<D, K>> {
    return serverStreamCall(
      this.#streamContext(method, options),
      this.#streamSpec(method, false, true),
      request,
    );
  }

  /**
   * A client-streaming call on the least busy server. The requests read are kept until the reply,
   * so that a call that fails may be sent again to another server (`retries: 0` keeps none).
   */
  clientStream<K extends ClientStreamMethodName<D>>(
    method: K,
    requests: Inputs<RequestOf<D, K>>,
    options: StreamCallOptions = {},
  ): Promise<ResponseOf<D, K>> {
    return clientStreamCall(
      this.#streamContext(method, options),
      this.#streamSpec(method, true, false),
      requests,
    );
  }

  /** A bidirectional call on the least busy server; it moves as a server-streaming call does. */
  duplex<K extends DuplexMethodName<D>>(
    method: K,
    options: StreamCallOptions = {},
  ): PoolDuplexCall<RequestOf<D, K>, ResponseOf<D, K>> {
    return duplexCall(this.#streamContext(method, options), this.#streamSpec(method, true, true));
  }

  /** The method's spec, refused when it is not of the kind called. */
  #streamSpec(method: string, requestStream: boolean, responseStream: boolean): MethodSpec {
    const spec = this.#spec(method);
    if (spec.requestStream !== requestStream || spec.responseStream !== responseStream) {
      const kind = spec.requestStream
        ? spec.responseStream
          ? "a duplex"
          : "a client-streaming"
        : spec.responseStream
          ? "a server-streaming"
          : "a unary";
      throw new ClientError(status.INVALID_ARGUMENT, `${method} is ${kind} method`);
    }
    return spec;
  }

  #streamContext(method: string, options: StreamCallOptions): StreamCallContext {
    const calls = this.#calls(method);
    return {
      engine: this.#runs.engine,
      // A stream may be long: it does not wait for a worker thread of its server.
      settings: { ...calls.settings(options), perServer: Number.POSITIVE_INFINITY },
      callOptions: (signal) => calls.callOptions(options, signal),
    };
  }

  /** Calls whose results stay on their servers (StoreService/Keep), one a task, in input order. */
  async #kept(method: string, inputs: Inputs<unknown>, options: ServiceCallOptions): Promise<unknown[]> {
    const calls = this.#calls(method);
    const outcomes = await settledInOrder(
      this.#runs.engine,
      inputs,
      (request, server, signal) => this.#runs.keepOn(server, calls.spec, [request], { signal }),
      calls.settings(options),
    );
    return valuesOf(outcomes);
  }

  #calls(method: string): MethodCalls {
    return new MethodCalls(this.#runs, this.#spec(method), this.options);
  }

  #spec(method: string): MethodSpec {
    const spec = this.methods[method];
    if (!spec) throw new ClientError(status.INVALID_ARGUMENT, `the service has no method ${method}`);
    if (spec.idempotency === "UNKNOWN") {
      // Servers that connected after this client was made may know what the definition does not.
      const known = this.#runs.idempotencyOf(spec.path);
      if (known) this.methods[method] = { ...spec, idempotency: known };
    }
    return this.methods[method]!;
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
