import { ClientError } from "../rpc/client-error.js";
import { Status as status } from "../rpc/grpc-status.js";
import type { LabelRules } from "./label-match.js";
import type { Outcome, PoolEvent, TaskFn } from "./outcome.js";
import type { ServerConnection } from "./server-connection.js";

/** One input on its way: where it has been tried, and when it last failed. */
export interface Task<I> {
  index: number;
  input: I;
  attempts: string[];
  failedAt: number;
  /** Servers that said they cannot run it at all (unable-here.ts): it never goes back to them. */
  refusedBy?: string[];
  /** The last such refusal, for the error when every server has refused. */
  refusal?: ClientError;
}

/** What a run needs to know of its settings, resolved by the engine. */
export interface RunSettings extends LabelRules {
  perServer?: number;
  /** Without perServer: calls in flight per worker thread of each server (default 1). */
  perWorker?: number;
  retries: number;
  /**
   * Whether a task whose call may have reached its server may run again: true (the caller allows
   * it), false (it may not), or undefined: as the failed call's method says (its proto's
   * idempotency_level, or the pool's per-method defaults). A call that never left is always moved.
   */
  idempotent?: boolean;
  servers?: ReadonlySet<ServerConnection>;
  /** Full path of the method every task calls, when known: only servers hosting it are used. */
  method?: string;
  signal?: AbortSignal;
  listeners: Array<(event: PoolEvent) => void>;
  /** The address of the server an input's data lives on, if it has a home (data locality). */
  homeOf?: (input: unknown) => string | undefined;
  /**
   * Whether a failed task may run again at all, asked at its failure: false for a stream call
   * whose replies already reached the caller (running it again would send them twice).
   */
  mayRetry?: (input: unknown) => boolean;
  /** Higher first among the pool's runs, and sent as `rpcpool-priority` (run-priority.ts). Default 0. */
  priority?: number;
  /** An input's size of work, for the servers' measured rates (server-rates.ts); default 1. */
  weightOf?: (input: unknown) => number;
}

/**
 * One map, apply or stream of tasks: its queue (retries first), what it has in flight on each
 * server, and the hand-off of outcomes. The engine decides where tasks run; the run keeps count.
 */
export class Run<I, R> {
  readonly #fresh: Task<I>[] = [];
  #head = 0;
  /** Fresh tasks whose input has a home (data locality), by the home's address, in input order. */
  readonly #homed = new Map<string, { tasks: Task<I>[]; head: number }>();
  #homedCount = 0;
  /** Tasks that failed on a server and wait for another (or for their back-off). */
  readonly retrying: Task<I>[] = [];
  readonly busy = new Map<ServerConnection, number>();
  readonly #controllers = new Set<AbortController>();
  inFlight = 0;
  added = 0;
  settled = 0;
  /** Outcomes the consumer has taken out; the window is counted from here. */
  consumed = 0;
  closed = false;
  aborted: ClientError | undefined;
  /**
   * What the caller's inputs threw while they were read (a file that cannot be read, a line
   * refused): the run is aborted, and the verb rethrows this very error once the run has ended,
   * as a for-await loop over the inputs would.
   */
  inputsFailed: { error: unknown } | undefined;
  readonly done: Promise<void>;
  #resolveDone!: () => void;
  #finished = false;
  #room: (() => void) | undefined;

  constructor(
    readonly fn: TaskFn<I, R>,
    readonly settings: RunSettings,
    readonly onOutcome: (outcome: Outcome<R>) => void,
    readonly onChange: () => void,
  ) {
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
    const signal = settings.signal;
    if (signal) {
      if (signal.aborted) this.abort(ClientError.fromAbort(signal));
      else {
        const onAbort = () => this.abort(ClientError.fromAbort(signal));
        signal.addEventListener("abort", onAbort, { once: true });
        this.done.then(() => signal.removeEventListener("abort", onAbort));
      }
    }
  }

  get queued(): number {
    return this.#fresh.length - this.#head + this.#homedCount + this.retrying.length;
  }

  get finished(): boolean {
    return this.#finished;
  }

  /** Queues one input; the engine starts it when a server has room. */
  add(input: I, index = this.added): void {
    this.added++;
    if (this.aborted) {
      this.settle({ ok: false, index, error: this.aborted, attempts: [] });
      return;
    }
    const task = { index, input, attempts: [], failedAt: 0 };
    const home = this.settings.homeOf?.(input);
    if (home === undefined) {
      this.#fresh.push(task);
      return;
    }
    const bucket = this.#homed.get(home) ?? { tasks: [], head: 0 };
    bucket.tasks.push(task);
    this.#homed.set(home, bucket);
    this.#homedCount++;
  }

  /** The next fresh task, if any (with a home or not). */
  nextFresh(): Task<I> | undefined {
    if (this.#head === this.#fresh.length) {
      for (const home of this.#homed.keys()) return this.#fromHome(home);
      return undefined;
    }
    const task = this.#fresh[this.#head]!;
    this.#fresh[this.#head++] = undefined as never;
    // Drop the consumed front now and then, so a long run's array does not keep growing.
    if (this.#head > 4096 && this.#head * 2 > this.#fresh.length) {
      this.#fresh.splice(0, this.#head);
      this.#head = 0;
    }
    return task;
  }

  /**
   * The next fresh task `server` may run: the first with no home, or at home on `server`, or whose
   * home can take no work (lost, gone). Tasks at home elsewhere wait for their server.
   */
  nextFreshFor(server: string, homeAlive: (address: string) => boolean): Task<I> | undefined {
    if (this.#homedCount === 0) return this.nextFresh();
    if (this.#homed.has(server)) return this.#fromHome(server);
    if (this.#head < this.#fresh.length) return this.nextFresh();
    // Tasks whose home can take no work move: their data goes with them (the pool's repair).
    for (const home of this.#homed.keys()) if (!homeAlive(home)) return this.#fromHome(home);
    return undefined;
  }

  #fromHome(home: string): Task<I> | undefined {
    const bucket = this.#homed.get(home);
    if (!bucket) return undefined;
    const task = bucket.tasks[bucket.head]!;
    bucket.tasks[bucket.head++] = undefined as never;
    if (bucket.head === bucket.tasks.length) this.#homed.delete(home);
    this.#homedCount--;
    return task;
  }

  /** No more inputs will come. */
  close(): void {
    this.closed = true;
    this.#maybeFinish();
  }

  emit(event: PoolEvent): void {
    for (const listener of this.settings.listeners) {
      try {
        listener(event);
      } catch (error) {
        // A listener that throws must not leave its run hanging: the run fails, in words.
        this.abort(
          new ClientError(status.UNKNOWN, `an event listener threw: ${(error as Error)?.message ?? error}`),
        );
      }
    }
  }

  /** A controller for one task's calls; aborted with the run. */
  taskController(): AbortController {
    const controller = new AbortController();
    if (this.aborted) controller.abort(this.aborted);
    else this.#controllers.add(controller);
    return controller;
  }

  releaseController(controller: AbortController): void {
    this.#controllers.delete(controller);
  }

  settle(outcome: Outcome<R>): void {
    this.settled++;
    try {
      this.onOutcome(outcome);
    } catch (error) {
      this.abort(
        new ClientError(status.UNKNOWN, `an outcome handler threw: ${(error as Error)?.message ?? error}`),
      );
    }
    this.#maybeFinish();
  }

  /** Fails what is queued and cancels what is in flight (the caller's signal, a stopped iteration). */
  abort(error: ClientError): void {
    if (this.aborted) return;
    this.aborted = error;
    const queued = [...this.retrying.splice(0)];
    for (let task = this.nextFresh(); task; task = this.nextFresh()) queued.push(task);
    for (const task of queued) {
      this.emit({ type: "failed", index: task.index, error });
      this.settle({ ok: false, index: task.index, error, attempts: task.attempts });
    }
    for (const controller of this.#controllers) controller.abort(error);
    this.#controllers.clear();
    this.#room?.();
    this.onChange();
  }

  /** Pulls inputs while fewer than `window` are outstanding (added but not yet consumed). */
  async feed(inputs: Iterable<I> | AsyncIterable<I>, window: number): Promise<void> {
    if (Array.isArray(inputs) && inputs.length <= window) {
      for (const input of inputs) this.add(input);
      this.onChange();
      this.close();
      return;
    }
    const asyncSource = Symbol.asyncIterator in (inputs as object);
    const iterator = asyncSource
      ? (inputs as AsyncIterable<I>)[Symbol.asyncIterator]()
      : (inputs as Iterable<I>)[Symbol.iterator]();
    let exhausted = false;
    try {
      while (!this.aborted) {
        if (this.added - this.consumed >= window) {
          this.onChange();
          await new Promise<void>((resolve) => {
            this.#room = resolve;
          });
          this.#room = undefined;
          continue;
        }
        const next = asyncSource ? await iterator.next() : (iterator as Iterator<I>).next();
        if (next.done) {
          exhausted = true;
          break;
        }
        this.add(next.value);
        // Start work as inputs arrive; a synchronous source is read ahead in steps of 64.
        if (asyncSource || this.added % 64 === 0) this.onChange();
      }
    } catch (error) {
      exhausted = true;
      this.inputsFailed = { error };
      this.abort(
        new ClientError(status.UNKNOWN, `the inputs failed: ${(error as Error)?.message ?? error}`, {
          cause: error,
        }),
      );
    } finally {
      if (!exhausted) await iterator.return?.();
      this.onChange();
      this.close();
    }
  }

  /** The consumer took `n` outcomes out: the feeder may read further. */
  take(n = 1): void {
    this.consumed += n;
    this.#room?.();
  }

  #maybeFinish(): void {
    if (this.#finished || !this.closed || this.inFlight > 0 || this.queued > 0) return;
    this.#finished = true;
    this.#room?.();
    this.#resolveDone();
  }
}
