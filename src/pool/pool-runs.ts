import type { MethodDefaults } from "../rpc/method-defaults.js";
import type { Idempotency, MethodSpec } from "../rpc/method-spec.js";
import { Coalescers } from "./call-coalescer.js";
import type { Collectives } from "./collectives.js";
import { type LabelRules, mergeRules } from "./label-match.js";
import type { Outcome, PoolEvent, RunOptions, TaskFn } from "./outcome.js";
import { settledAsCompleted, settledInOrder, settledInOrderStream } from "./outcome-streams.js";
import type { OutcomeSource } from "./run-verbs.js";
import type { PoolServer, ServerConnection } from "./server-connection.js";
import { TaskEngine } from "./task-engine.js";
import type { RunSettings } from "./task-run.js";
import { ValueHandle } from "./value-handle.js";

/** What runs take from the pool's options. */
export interface RunDefaults extends LabelRules {
  retries?: number;
  /** The pool's default priority of its runs and calls (ConnectOptions.priority). */
  priority?: number;
  /** The name the pool's calls give their client (ConnectOptions.clientName). */
  clientName?: string;
  /** Aging of the pool's priorities (ConnectOptions.maxPriorityWaitFactor). */
  maxPriorityWaitFactor?: number;
  onEvent?: (event: PoolEvent) => void;
}

/**
 * A pool's machinery of runs, kept off its public face: the one task engine, the per-method
 * defaults, the coalescers of concurrent applies, and how a run's options become its settings.
 * Pool and its service clients run everything through it.
 */
export class PoolRuns {
  readonly engine: TaskEngine;
  readonly coalescers = new Coalescers();

  constructor(
    readonly servers: () => readonly ServerConnection[],
    readonly options: RunDefaults,
    readonly defaults: MethodDefaults,
    readonly values: Collectives,
  ) {
    // A task that finds its value missing on a server gets it put there, and runs again.
    this.engine = new TaskEngine(
      servers,
      (error, server, signal) => values.recover(error, server, signal),
      // A definition without options (grpc-js's form) says UNKNOWN: the servers' Info may know more.
      (call) =>
        defaults.retries(
          call.method,
          call.idempotency === "UNKNOWN" ? (this.idempotencyOf(call.method) ?? "UNKNOWN") : call.idempotency,
        ),
    );
    if (options.maxPriorityWaitFactor !== undefined)
      this.engine.priorities.factor = options.maxPriorityWaitFactor;
  }

  /** Calls the pool runs at once by default: the servers' worker threads, added up. */
  slots(): number {
    return this.servers().reduce((n, server) => n + server.workers, 0);
  }

  /** What a server of the pool says of a method's idempotency, for definitions that do not carry it. */
  idempotencyOf(path: string): Idempotency | undefined {
    for (const server of this.servers()) {
      const level = server.idempotencyOf(path);
      if (level) return level;
    }
    return undefined;
  }

  /**
   * The settings of a run from its options and the pool's; `service`: a service client's own
   * requirements and preferences, between the pool's and the call's.
   */
  runSettings(
    options: RunOptions & { method?: string; retries?: number },
    service: LabelRules = {},
  ): RunSettings {
    const listeners = [options.onEvent, this.options.onEvent].filter((l) => l !== undefined);
    return {
      ...mergeRules(mergeRules(this.options, service), options),
      perServer: options.perServer,
      perWorker: options.perWorker,
      priority: options.priority ?? this.options.priority,
      retries: options.retries ?? this.options.retries ?? 3,
      // Retries asked for in the call itself allow running any method again.
      idempotent: options.idempotent ?? (options.retries ? true : undefined),
      servers: options.servers ? new Set(options.servers as ServerConnection[]) : undefined,
      method: options.method,
      signal: options.signal,
      weightOf: options.weight as ((input: unknown) => number) | undefined,
      listeners,
      homeOf: (input) => {
        const near = options.near as ((input: unknown) => { id: string } | undefined) | undefined;
        const handle = near ? near(input) : input instanceof ValueHandle ? input : undefined;
        return handle ? this.values.homeOf(handle.id) : undefined;
      },
    };
  }

  /** Inputs a streamed run reads ahead: `window`, or 8 per worker thread of the pool, at least 256. */
  window(options: RunOptions): number {
    return Math.max(1, options.window ?? Math.max(256, 8 * this.slots()));
  }

  /** Runs a method on `server` and keeps its response there (`{ keep: true }`, docs/collectives.md). */
  keepOn<Req, Res>(
    server: PoolServer,
    method: MethodSpec<Req, Res>,
    requests: readonly Req[],
    options?: { signal?: AbortSignal },
  ): Promise<ValueHandle<Res>> {
    return this.values.keepOn(server, method, requests, options);
  }

  /** The outcomes of a task function over inputs: what the pool's run verbs work on. */
  tasks<I, R>(fn: TaskFn<I, R>): OutcomeSource<I, R> {
    return {
      settled: (inputs, options): Promise<Outcome<R>[]> =>
        settledInOrder(this.engine, inputs, fn, this.runSettings(options)),
      streamed: (inputs, options, order) =>
        (order === "input" ? settledInOrderStream : settledAsCompleted)(
          this.engine,
          inputs,
          fn,
          this.runSettings(options),
          this.window(options),
        ),
    };
  }
}
