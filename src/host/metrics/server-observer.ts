import type { ServerInterceptor } from "@grpc/grpc-js";

/**
 * What a server tells its metrics (`--metrics`), kept to a few narrow hooks so that a server
 * without them pays nothing: the standard series come from one interceptor, batch items from one
 * meter per batch, and everything else is read from the server's own state when Prometheus scrapes.
 * The implementation (prometheus-server.ts, on prom-client) is loaded only when asked.
 */
export interface ServerObserver {
  /** Goes first among the server's interceptors, so it sees every call, those the guard refuses too. */
  readonly interceptor: ServerInterceptor;
  /**
   * The meter of a batch's items, found once per batch (every item is of one method): each item
   * counts under its own method as a unary call, not under BatchService/Invoke.
   */
  batch(path: string): BatchMeter;
  /** The server's state, read on each scrape. */
  attach(state: ServerState): void;
}

export interface BatchMeter {
  /** One item ended with `code` after `seconds`. */
  unary(code: number, seconds: number): void;
}

/** The figures a scrape reads; each a function, so nothing is counted twice or between scrapes. */
export interface ServerState {
  /** Calls in flight, batch items included (what --max-calls bounds). */
  callsInFlight(): number;
  /** Calls and connections refused so far, by the bound that refused them (its flag's name). */
  refusals(): Record<string, number>;
  /** Worker threads, and tasks running on them now (beyond the threads when spare ones start). */
  workers: number;
  workerTasksRunning(): number;
  /** Tasks waiting for a worker thread, by kind of work (a module's export). */
  workerTasksWaiting(): Map<string, number>;
  /** The value store: bytes held, values, and values evicted so far. */
  store(): { bytes: number; values: number; evicted: number };
  /** Sessions open and the remote objects alive in them. */
  sessions(): { sessions: number; objects: number };
  /** Client connections open. */
  connections(): number;
}
