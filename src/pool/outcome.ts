import type { ClientError } from "../rpc/client-error.js";
import type { Labels } from "../rpc/server-labels.js";
import type { PoolServer } from "./server-connection.js";

/** What became of one input: its value or its error, the server that answered, and every server tried. */
export type Outcome<R> =
  | { ok: true; index: number; value: R; server: string; attempts: string[] }
  | { ok: false; index: number; error: ClientError; server?: string; attempts: string[] };

/** What a pool reports as work advances (progress bars, logs, tests). */
export type PoolEvent =
  | { type: "started"; index: number; server: string }
  | { type: "done"; index: number; server: string }
  | { type: "failed"; index: number; server?: string; error: ClientError }
  | { type: "retried"; index: number; from: string; error: ClientError }
  | { type: "server-lost"; server: string; error: ClientError }
  | { type: "server-back"; server: string };

/** One task: a call (or several) on the server the pool chose, cancelled through `signal`. */
export type TaskFn<I, R> = (input: I, server: PoolServer, signal: AbortSignal) => Promise<R>;

/** How a run of tasks goes: where, how many at once, how often retried, and who hears of it. */
export interface RunOptions {
  /** Calls in flight per server for this run; default: the server's worker threads. */
  perServer?: number;
  /** Without perServer: calls in flight per worker thread of each server (default 1). */
  perWorker?: number;
  /**
   * Attempts per task beyond the first, on other servers, for failures that blame the server.
   * Given here (above 0), it also allows running again a method its proto does not mark idempotent.
   */
  retries?: number;
  /**
   * Whether a task may run again after its call may have reached a server that then failed: by
   * default, exactly when the failed call's method is marked IDEMPOTENT or NO_SIDE_EFFECTS in its
   * proto. A call that never left the client (connection refused) moves to another server anyway.
   */
  idempotent?: boolean;
  /**
   * Run only on servers whose labels (`rpcpool-server --label KEY=VALUE`) hold every pair, e.g.
   * `{ gpu: "1" }`, over the pool's `require` (docs/scheduling.md). No such server: every task
   * fails at once with FAILED_PRECONDITION naming the requirement and the servers' labels.
   */
  require?: Labels;
  /** Give tasks first to servers with more of these labels, while they have room; none is excluded. */
  prefer?: Labels;
  /** Run on these servers only (e.g. `pool.servers.slice(0, 1)` for a sequential baseline). */
  servers?: readonly PoolServer[];
  /** Cancels every task of the run; the server stops the work. */
  signal?: AbortSignal;
  onEvent?: (event: PoolEvent) => void;
  /**
   * Inputs read ahead of the results taken out, for streamed runs (`imap`, `asCompleted`): memory
   * stays bounded however many inputs a generator yields. Default: 8 calls per worker thread of
   * the pool (8 batches with a chunksize), and at least 256 inputs.
   */
  window?: number;
  /**
   * Data locality (docs/collectives.md): the stored value an input's task works on. The task runs on
   * the server holding it (waiting for room there), and moves with its data only when that server
   * is lost. Default: the input itself when it is a ValueHandle (from `pool.scatter` or a kept result).
   */
  near?: (input: never) => { readonly id: string } | undefined;
  /**
   * An integer, higher first (default 0): this run's tasks are dispatched before those of the
   * pool's runs of lower priority, and a service's calls carry it as `rpcpool-priority`, so each
   * server runs them before this client's lower ones (never before other clients': they take turns).
   * Starvation is bounded by aging: docs/scheduling.md.
   */
  priority?: number;
  /**
   * The size of an input's work (e.g. its bytes), for measuring each server's rate
   * (docs/scheduling.md): faster servers are preferred and a slow one is not handed the last
   * tasks. Default: every task weighs 1 (tasks per second).
   */
  weight?: (input: never) => number;
}
