import { ClientError, type FailedCall } from "../rpc/client-error.js";
import { Status as status } from "../rpc/grpc-status.js";
import { unableHere } from "../rpc/unable-here.js";
import { BadReply } from "./bad-reply.js";
import { labelsOf, meets, rank, unmetError } from "./label-match.js";
import type { Outcome, PoolEvent, TaskFn } from "./outcome.js";
import { RunPriorities } from "./run-priority.js";
import type { ServerConnection } from "./server-connection.js";
import { holdBack, rateUnit, sooner } from "./server-rates.js";
import { Run, type RunSettings, type Task } from "./task-run.js";

/**
 * Failures that blame the server, not the input: it died, went away or is draining (a server
 * forced down cancels its calls), or it sent a malformed reply. The caller's own cancellation is
 * told apart before this.
 */
export function blamesServer(error: ClientError): boolean {
  return error.code === status.UNAVAILABLE || error.code === status.CANCELLED || BadReply.is(error);
}

/** Wait before trying a task again on a server it already failed on: 100 ms, doubling, at most 5 s. */
function backoffMs(attempts: number): number {
  return Math.min(5_000, 100 * 2 ** (attempts - 1));
}

/**
 * The one task engine under every map, stream and apply of a pool: it hands each queued task to
 * the least busy server that has room for it, moves a task whose server failed to another (or,
 * when there is no other, back to the same one after a back-off), keeps a failed server out of
 * rotation for a cool-down, and reports every step as a PoolEvent.
 */
export class TaskEngine {
  readonly #runs = new Set<Run<unknown, unknown>>();
  #pumping = false;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  /** The runs' priorities: who dispatches first (run-priority.ts). */
  readonly priorities = new RunPriorities();
  /** Told when a server has no call of any run in flight any more (a server leaving the pool closes then). */
  onIdle: ((server: ServerConnection) => void) | undefined;
  /** The pool's error when no server it was given answered (a pipelined pool): runs left without one fail with it. */
  unreachable: (() => ClientError | undefined) | undefined;

  /**
   * `recover`: told of a task's failure before the engine judges it; true when it repaired the
   * server (put a missing value there, docs/collectives.md) and the task should run again on it.
   * It may throw a clearer error instead.
   */
  constructor(
    readonly servers: () => readonly ServerConnection[],
    readonly recover?: (error: unknown, server: ServerConnection, signal: AbortSignal) => Promise<boolean>,
    /** Whether a call of this method, which may have reached its server, may run again (default: its proto says so). */
    readonly repeatable: (call: FailedCall) => boolean = (call) => call.idempotency !== "UNKNOWN",
  ) {}

  /** A new run of `fn`; inputs go in with `run.add` or `run.feed`, outcomes come out through `onOutcome`. */
  start<I, R>(fn: TaskFn<I, R>, settings: RunSettings, onOutcome: (outcome: Outcome<R>) => void): Run<I, R> {
    const run = new Run<I, R>(fn, settings, onOutcome, () => this.pump());
    this.#runs.add(run as Run<unknown, unknown>);
    run.done.then(() => this.#runs.delete(run as Run<unknown, unknown>));
    return run;
  }

  /** Starts what can start now. Safe to call at any time; re-entrant calls fold into one pass. */
  pump(): void {
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#again = false;
        const servers = this.servers();
        const now = Date.now();
        for (const run of this.priorities.order(this.#runs, now))
          if (run.queued > 0 && !run.aborted) this.#dispatch(run, servers, now);
      } while (this.#again);
    } finally {
      this.#pumping = false;
    }
  }

  /** The servers a run may use: of the pool, those it was given, and those hosting its method. */
  #hosting(run: Run<unknown, unknown>, all: readonly ServerConnection[]): ServerConnection[] {
    const { servers: only, method } = run.settings;
    return all.filter((s) => (!only || only.has(s)) && (!method || s.hosts(method)));
  }

  /** Of those, the servers whose labels meet the run's requirements, as the pool is now. */
  #eligible(run: Run<unknown, unknown>, all: readonly ServerConnection[]): ServerConnection[] {
    const hosting = this.#hosting(run, all);
    const require = run.settings.require;
    return require ? hosting.filter((s) => meets(labelsOf(s), require)) : hosting;
  }

  #dispatch(run: Run<unknown, unknown>, all: readonly ServerConnection[], now: number): void {
    // Servers whose first Info is on its way have no labels yet (a pipelined pool): a run that
    // requires or prefers some waits for every answer, as it would have in a pool that waits.
    if ((run.settings.require || run.settings.prefer) && all.some((s) => s.greeting)) return;
    const eligible = this.#eligible(run, all);
    if (eligible.length === 0) {
      if (run.inFlight === 0) this.#abandon(run, run.settings.method, all);
      return;
    }
    // A task every server left has refused as unable (the one that could was dropped) ends here.
    for (let i = run.retrying.length - 1; i >= 0; i--) {
      const task = run.retrying[i]!;
      if (!task.refusedBy || !this.#refusedEverywhere(task, eligible)) continue;
      run.retrying.splice(i, 1);
      const error = refusedError(task);
      run.emit({ type: "failed", index: task.index, error });
      run.settle({ ok: false, index: task.index, error, attempts: task.attempts });
    }
    // While some server is healthy, servers that failed recently get nothing new.
    const healthy = eligible.some((s) => !s.cooling);
    const candidates = healthy ? eligible.filter((s) => !s.cooling) : eligible;
    const exhausted = new Set<ServerConnection>();
    // Preferred servers (more of the run's `prefer` pairs) take tasks first while they have room.
    const prefer = run.settings.prefer;
    const ranks = prefer ? new Map(candidates.map((s) => [s, rank(labelsOf(s), prefer)])) : undefined;
    const rankOf = (s: ServerConnection) => ranks?.get(s) ?? 0;
    const outranks = (s: ServerConnection, best: ServerConnection) => rankOf(s) > rankOf(best);
    const ties = (s: ServerConnection, best: ServerConnection) => rankOf(s) === rankOf(best);
    const unit = unitOf(run);
    while (run.queued > 0) {
      let best: ServerConnection | undefined;
      for (const server of candidates) {
        if (exhausted.has(server) || (run.busy.get(server) ?? 0) >= this.#limit(run, server)) continue;
        if (this.priorities.outranked(run, server, this.#runs, now)) continue;
        if (!best || outranks(server, best)) best = server;
        else if (
          ties(server, best) &&
          (unit ? sooner(this.#rated(run, server), this.#rated(run, best), unit) : server.load < best.load)
        )
          best = server;
      }
      if (!best) break;
      const task = this.#take(run, best, eligible, now);
      if (task && this.#waitsForFaster(run, task, best, candidates, now)) {
        // Faster servers will get through what is left sooner: it goes back to the queue's front.
        run.retrying.unshift(task);
        exhausted.add(best);
      } else if (task) this.#start(run, task, best);
      else exhausted.add(best);
    }
    // Work left while a server cools: look again when it may take work, whatever else happens.
    if (run.queued > 0) {
      let at = Number.POSITIVE_INFINITY;
      for (const server of eligible) if (server.cooling) at = Math.min(at, server.coolsUntil);
      if (at < Number.POSITIVE_INFINITY) this.#wakeAt(at);
    }
  }

  /** A server as the rate rules see it (server-rates.ts), with this run's limit. */
  #rated(run: Run<unknown, unknown>, server: ServerConnection) {
    return {
      rate: server.rate,
      inFlight: server.inFlight,
      limit: this.#limit(run, server),
      load: server.load,
    };
  }

  #waitsForFaster(
    run: Run<unknown, unknown>,
    task: Task<unknown>,
    server: ServerConnection,
    candidates: readonly ServerConnection[],
    now: number,
  ): boolean {
    // Only a fresh task free to go anywhere waits: one with a home or a history has its own rules.
    const unit = unitOf(run);
    if (!unit || candidates.length < 2 || task.attempts.length > 0 || task.refusedBy) return false;
    if (run.settings.homeOf?.(task.input) !== undefined) return false;
    const others = candidates.filter((s) => s !== server).map((s) => this.#rated(run, s));
    const weight = run.settings.weightOf?.(task.input) ?? 1;
    return holdBack(this.#rated(run, server), others, run.queued + 1, weight, unit, now);
  }

  #limit(run: Run<unknown, unknown>, server: ServerConnection): number {
    return run.settings.perServer ?? server.workers * (run.settings.perWorker ?? 1);
  }

  /** The task `server` should run: a retried one it has not failed, else (after back-off) one every server failed. */
  #take(
    run: Run<unknown, unknown>,
    server: ServerConnection,
    eligible: readonly ServerConnection[],
    now: number,
  ): Task<unknown> | undefined {
    const retrying = run.retrying;
    const healthy = eligible.some((s) => !s.cooling);
    // A home can take work while it is in the pool and, when any server is healthy, healthy itself.
    const homeAlive = (address: string) =>
      eligible.some((s) => s.address === address && (!healthy || !s.cooling));
    const homeOf = run.settings.homeOf;
    for (let i = 0; i < retrying.length; i++) {
      const task = retrying[i]!;
      if (task.refusedBy?.includes(server.address)) continue;
      // A home that failed the task is given up: the task (and its data) may go anywhere, or
      // it would wait for a server that will not take it again while another has not tried it.
      const home = homeOf?.(task.input);
      const bound = home !== undefined && !task.attempts.includes(home);
      if (bound && home !== server.address && homeAlive(home)) continue;
      if (task.attempts.includes(server.address)) {
        if (!eligible.every((s) => task.attempts.includes(s.address))) continue;
        const at = task.failedAt + backoffMs(task.attempts.length);
        if (now < at) {
          this.#wakeAt(at);
          continue;
        }
      }
      retrying.splice(i, 1);
      return task;
    }
    return run.nextFreshFor(server.address, homeAlive);
  }

  #start(run: Run<unknown, unknown>, task: Task<unknown>, server: ServerConnection): void {
    run.inFlight++;
    server.inFlight++;
    run.busy.set(server, (run.busy.get(server) ?? 0) + 1);
    task.attempts.push(server.address);
    run.emit({ type: "started", index: task.index, server: server.name });
    const startedAt = Date.now();
    this.priorities.started(run, startedAt);
    // The server's rate is measured on this task (server-rates.ts).
    const weight = run.settings.weightOf?.(task.input) ?? 1;
    const unit = unitOf(run);
    const startedWith = server.inFlight;
    if (unit) server.rate.started(task, unit, weight, startedWith);
    const controller = run.taskController();
    const promise = this.#attempt(run, task, server, controller.signal);
    promise.then(
      (value) => {
        this.priorities.settled(Date.now() - startedAt);
        if (unit)
          server.rate.finished(task, { weight, unit, concurrent: (startedWith + server.inFlight) / 2 });
        this.#release(run, server, controller);
        if (server.markHealthy()) run.emit({ type: "server-back", server: server.name });
        run.emit({ type: "done", index: task.index, server: server.name });
        run.settle({ ok: true, index: task.index, value, server: server.name, attempts: task.attempts });
        this.pump();
      },
      (caught: unknown) => {
        const judge = () => {
          server.rate.finished(task);
          this.#release(run, server, controller);
          this.#failed(run, task, server, caught);
          this.pump();
        };
        // A call sent before its server's first Info came back is judged once it has: a server that
        // never answered Info was never one of the pool's, and the task goes elsewhere as if it
        // had never been sent (it is not counted against the retries, nor the server's health).
        const greeting = server.greeting;
        if (!greeting) return judge();
        greeting.then((answered) => {
          if (answered) return judge();
          server.rate.finished(task);
          this.#release(run, server, controller);
          const error = ClientError.from(caught, server.address);
          if (run.aborted) {
            run.emit({ type: "failed", index: task.index, server: server.name, error: run.aborted });
            run.settle({ ok: false, index: task.index, error: run.aborted, attempts: task.attempts });
          } else {
            run.emit({ type: "retried", index: task.index, from: server.name, error });
            task.attempts.pop();
            run.retrying.unshift(task);
          }
          this.pump();
        });
      },
    );
  }

  /** Runs the task on `server`; a failure the pool can repair there (a missing value) runs it again. */
  async #attempt(
    run: Run<unknown, unknown>,
    task: Task<unknown>,
    server: ServerConnection,
    signal: AbortSignal,
  ): Promise<unknown> {
    for (let repairs = 0; ; repairs++) {
      try {
        return await run.fn(task.input, server, signal);
      } catch (error) {
        // A bounded number of repairs: a store too small to keep the value until the call reads it
        // must end in an error, not a loop.
        const final = run.settings.mayRetry?.(task.input) === false;
        if (
          !this.recover ||
          final ||
          repairs >= 3 ||
          signal.aborted ||
          !(await this.recover(error, server, signal))
        ) {
          throw error;
        }
      }
    }
  }

  #release(run: Run<unknown, unknown>, server: ServerConnection, controller: AbortController): void {
    run.inFlight--;
    server.inFlight--;
    run.busy.set(server, (run.busy.get(server) ?? 1) - 1);
    run.releaseController(controller);
    if (server.inFlight === 0) this.onIdle?.(server);
  }

  #failed(run: Run<unknown, unknown>, task: Task<unknown>, server: ServerConnection, caught: unknown): void {
    let error = ClientError.from(caught, server.address);
    if (run.aborted) error = run.aborted;
    else if (run.settings.mayRetry?.(task.input) === false) {
      // Replies of it reached the caller: it ends here, with its own error.
      if (blamesServer(error) && server.markFailed())
        run.emit({ type: "server-lost", server: server.name, error });
    } else if (unableHere(error)) {
      // Not the server's fault, nor the input's: it cannot run this here. Another that has not
      // said so may; when none is left, the error names every server that refused.
      const refusedBy = (task.refusedBy ??= []);
      if (!refusedBy.includes(server.address)) refusedBy.push(server.address);
      task.refusal = error;
      if (!this.#refusedEverywhere(task, this.#eligible(run, this.servers()))) {
        run.emit({ type: "retried", index: task.index, from: server.name, error });
        run.retrying.unshift(task);
        return;
      }
      error = refusedError(task);
    } else if (blamesServer(error)) {
      if (server.markFailed()) run.emit({ type: "server-lost", server: server.name, error });
      const again = this.#mayRunAgain(run, error);
      if (again && task.attempts.length <= run.settings.retries) {
        run.emit({ type: "retried", index: task.index, from: server.name, error });
        task.failedAt = Date.now();
        run.retrying.unshift(task);
        return;
      }
      if (!again && !BadReply.is(error)) {
        const method = error.call?.method ?? "its method";
        const why =
          run.settings.idempotent === false
            ? `${method} may not run twice`
            : `${method} is not marked idempotent (idempotent: true allows it)`;
        error = new ClientError(
          error.code,
          `${error.details} (not run again: it may have run on ${server.address}, and ${why})`,
          { ...error, server: server.address, cause: error },
        );
      } else if (!BadReply.is(error) && this.servers().every((s) => s.cooling)) {
        // A malformed reply keeps its own words: INTERNAL, naming the server that sent it.
        const done = `${run.settled} of ${run.added} tasks had finished`;
        error = new ClientError(
          status.UNAVAILABLE,
          `no server left to run this task (${done}): ${error.details}`,
          {
            server: server.address,
            cause: error,
          },
        );
      }
    }
    run.emit({ type: "failed", index: task.index, server: server.name, error });
    run.settle({ ok: false, index: task.index, error, server: server.name, attempts: task.attempts });
  }

  /**
   * Whether a failed task may run again: always when its call never left this client (nothing
   * ran), else as the caller said, else as the failed call's method says. A failure that is no
   * call's (the task function's own) follows the retry budget alone.
   */
  #mayRunAgain(run: Run<unknown, unknown>, error: ClientError): boolean {
    if (error.call && !error.call.sent) return true;
    if (run.settings.idempotent !== undefined) return run.settings.idempotent;
    return error.call ? this.repeatable(error.call) : true;
  }

  #refusedEverywhere(task: Task<unknown>, eligible: readonly ServerConnection[]): boolean {
    return eligible.every((s) => task.refusedBy?.includes(s.address));
  }

  /** Fails what a run has queued: no server it may use is left. */
  #abandon(run: Run<unknown, unknown>, method: string | undefined, all: readonly ServerConnection[]): void {
    const hosting = this.#hosting(run, all);
    const require = run.settings.require;
    // Servers are there but none has the labels the run requires: the requirement's error, at once.
    // (A run given no server at all, as a baseline of the matching ones is when none match: the pool's.)
    const named = hosting.length > 0 ? hosting : all.filter((s) => !method || s.hosts(method));
    const unreachable = all.length === 0 ? this.unreachable?.() : undefined;
    const error = unreachable
      ? unreachable
      : require && named.length > 0
        ? unmetError(require, named, method)
        : new ClientError(
            status.UNAVAILABLE,
            method
              ? `no server of the pool hosts ${method}`
              : `no server left to run this task (${run.settled} of ${run.added} tasks had finished)`,
          );
    const queued = run.retrying.splice(0);
    for (let task = run.nextFresh(); task; task = run.nextFresh()) queued.push(task);
    for (const task of queued) {
      run.emit({ type: "failed", index: task.index, error });
      run.settle({ ok: false, index: task.index, error, attempts: task.attempts });
    }
  }

  #wakeAt(at: number): void {
    if (this.#timer && this.#timerAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = Number.POSITIVE_INFINITY;
        this.pump();
      },
      Math.max(0, at - Date.now()),
    );
  }

  /** Cancels every run (the pool is closing). */
  close(): void {
    clearTimeout(this.#timer);
    for (const run of this.#runs) run.abort(new ClientError(status.CANCELLED, "the pool was closed"));
  }
}

/**
 * What a run's rates are measured in (server-rates.ts): its tasks' weights, per method. Only a
 * run that weighs its inputs (`RunOptions.weight`) is measured and steered by rate: without
 * weights a task's time says nothing of a server's speed (a 300 ms sleep after a 10 ms one), so
 * such a run is balanced by load alone, as before.
 */
function unitOf(run: Run<unknown, unknown>): string | undefined {
  const { weightOf, method } = run.settings;
  return weightOf ? rateUnit(true, method) : undefined;
}

/** The error of a task every server refused as unable to run it: the last refusal, naming them all. */
function refusedError(task: Task<unknown>): ClientError {
  const refusal = task.refusal!;
  const by = task.refusedBy ?? [];
  const all = by.length === 1 ? "the only server" : `all ${by.length} servers`;
  return new ClientError(
    refusal.code,
    `${refusal.details} (${all} of the pool refused it: ${by.join(", ")})`,
    {
      ...refusal,
      cause: refusal,
    },
  );
}

export type { PoolEvent };
