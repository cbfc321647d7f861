import type { CallOptions } from "../rpc/call-options.js";
import type { Labels } from "../rpc/server-labels.js";
import type { ReplyCheck } from "./bad-reply.js";
import type { RunOptions } from "./outcome.js";

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
  /** This service's calls run only on servers with these labels (over the pool's; a call's own over these). */
  require?: Labels;
  /** This service's calls go first to servers with more of these labels (docs/scheduling.md). */
  prefer?: Labels;
  /** Default priority of this service's calls and runs (RunOptions.priority; higher first, default 0). */
  priority?: number;
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

/** Options of a streaming call through the pool: the call's own, and where and how often it may run. */
export type StreamCallOptions = Pick<
  ServiceCallOptions,
  | "signal"
  | "timeoutMs"
  | "metadata"
  | "idempotent"
  | "retries"
  | "servers"
  | "onEvent"
  | "require"
  | "prefer"
>;

/** Options of a call whose result stays on its server: the reply is the result's handle. */
export type KeepOptions = ServiceCallOptions & { keep: true };
