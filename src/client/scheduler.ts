import { setMaxListeners } from "node:events";
import { status } from "@grpc/grpc-js";
import { ClientError } from "./client-error.js";
import type { ServerConnection } from "./server-connection.js";

/** What became of one input. */
export type Outcome<R> =
  | { ok: true; index: number; value: R; server: string; attempts: string[] }
  | { ok: false; index: number; error: ClientError; server?: string; attempts: string[] };

export type PoolEvent =
  | { type: "started"; index: number; server: string }
  | { type: "done"; index: number; server: string }
  | { type: "failed"; index: number; server?: string; error: ClientError }
  | { type: "retried"; index: number; from: string; error: ClientError }
  | { type: "server-lost"; server: string; error: ClientError };

export interface ScheduleOptions {
  /** Calls in flight per server; default: its worker threads (Info), at least 1. */
  perServer?: number;
  /** Attempts per task beyond the first, on other servers, for failures a retry can cure. */
  retries?: number;
  signal?: AbortSignal;
  onEvent?: (event: PoolEvent) => void;
  onOutcome?: (outcome: Outcome<unknown>) => void;
  /** Servers that join or leave during the run (discovery): joiners get work, leavers get no more. */
  membership?: Membership;
}

/** A changing set of servers. */
export interface Membership {
  current(): readonly ServerConnection[];
  /** Calls back on every change; returns the function that stops listening. */
  subscribe(onChange: () => void): () => void;
}

export type TaskRunner<I, R> = (input: I, server: ServerConnection, signal: AbortSignal) => Promise<R>;

/**
 * Failures that say nothing of the input: the server died, went away or is draining (a server
 * forced down cancels its calls). The caller's own cancellation is checked apart.
 */
export function isRetryable(error: ClientError): boolean {
  return error.code === status.UNAVAILABLE || error.code === status.CANCELLED;
}

interface Task<I> {
  index: number;
  input: I;
  attempts: string[];
}

/**
 * Hands inputs to servers dynamically: a server that finishes a task takes the next one. A task
 * whose server failed under it goes back to the front of the queue for another server; that
 * server is not given more work in this run. Resolves with every outcome, in input order.
 */
export function schedule<I, R>(
  inputs: readonly I[],
  servers: readonly ServerConnection[],
  run: TaskRunner<I, R>,
  options: ScheduleOptions = {},
): Promise<Outcome<R>[]> {
  const retries = options.retries ?? 3;
  const queue: Task<I>[] = inputs.map((input, index) => ({ index, input, attempts: [] }));
  const outcomes: Outcome<R>[] = new Array(inputs.length);
  const alive = new Set(servers);
  const busy = new Map<ServerConnection, number>(servers.map((server) => [server, 0]));
  const capacity = (server: ServerConnection) => options.perServer ?? Math.max(1, server.info?.workers ?? 1);
  const controller = new AbortController();
  // Every call in flight listens on it: thousands may, and that is no leak.
  setMaxListeners(0, controller.signal);
  const { signal } = options;
  let inFlight = 0;
  let settledCount = 0;
  let stopListening = () => {};

  return new Promise((resolve) => {
    const settle = (outcome: Outcome<R>) => {
      outcomes[outcome.index] = outcome;
      settledCount++;
      options.onOutcome?.(outcome as Outcome<unknown>);
    };
    const abandonQueue = (error: ClientError) => {
      for (const task of queue.splice(0)) {
        options.onEvent?.({ type: "failed", index: task.index, error });
        settle({ ok: false, index: task.index, error, attempts: task.attempts });
      }
    };
    const take = (server: ServerConnection): Task<I> | undefined => {
      // Prefer a task this server has not failed; else one that every live server has failed.
      let i = queue.findIndex((task) => !task.attempts.includes(server.address));
      if (i < 0) i = queue.findIndex((task) => [...alive].every((s) => task.attempts.includes(s.address)));
      return i < 0 ? undefined : queue.splice(i, 1)[0];
    };
    const start = (task: Task<I>, server: ServerConnection) => {
      inFlight++;
      server.inFlight++;
      busy.set(server, (busy.get(server) ?? 0) + 1);
      task.attempts.push(server.address);
      options.onEvent?.({ type: "started", index: task.index, server: server.name });
      run(task.input, server, controller.signal)
        .then(
          (value) => {
            options.onEvent?.({ type: "done", index: task.index, server: server.name });
            settle({ ok: true, index: task.index, value, server: server.name, attempts: task.attempts });
          },
          (caught: unknown) => {
            const error = ClientError.from(caught, server.address);
            if (isRetryable(error) && !signal?.aborted) {
              server.lastFailureAt = Date.now();
              if (alive.delete(server))
                options.onEvent?.({ type: "server-lost", server: server.name, error });
              if (task.attempts.length <= retries) {
                options.onEvent?.({ type: "retried", index: task.index, from: server.name, error });
                queue.unshift(task);
                return;
              }
            }
            options.onEvent?.({ type: "failed", index: task.index, server: server.name, error });
            settle({ ok: false, index: task.index, error, server: server.name, attempts: task.attempts });
          },
        )
        .finally(() => {
          inFlight--;
          server.inFlight--;
          busy.set(server, (busy.get(server) ?? 1) - 1);
          pump();
        });
    };
    const pump = () => {
      if (signal?.aborted) abandonQueue(new ClientError(status.CANCELLED, "cancelled by the caller"));
      // The least busy first, counting other maps of the pool on the same servers.
      const order = alive.size > 1 ? [...alive].sort((a, b) => a.load - b.load) : alive;
      for (const server of order) {
        while ((busy.get(server) ?? 0) < capacity(server)) {
          const task = take(server);
          if (!task) break;
          start(task, server);
        }
      }
      if (alive.size === 0 && queue.length > 0) {
        const done = settledCount;
        abandonQueue(
          new ClientError(
            status.UNAVAILABLE,
            `no server left to run this task (${done} of ${inputs.length} tasks had finished)`,
          ),
        );
      }
      if (inFlight === 0 && queue.length === 0) {
        signal?.removeEventListener("abort", onAbort);
        stopListening();
        resolve(outcomes);
      }
    };
    const onAbort = () => {
      controller.abort(signal?.reason);
      pump();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    const known = new Set(servers);
    const unsubscribe = options.membership?.subscribe(() => {
      const current = new Set(options.membership!.current());
      for (const server of current) {
        if (known.has(server)) continue;
        known.add(server);
        alive.add(server);
        busy.set(server, 0);
      }
      // A leaving server finishes what it holds but gets nothing new.
      for (const server of alive) if (!current.has(server)) alive.delete(server);
      pump();
    });
    stopListening = () => unsubscribe?.();
    pump();
  });
}
