/**
 * What every call takes, in one object (as nice-grpc's CallOptions and connect-es's call options):
 * the caller's cancellation, its deadline, and extra request metadata.
 */
export interface CallOptions {
  /** Aborting cancels the call and the server stops the work; `AbortSignal.timeout(ms)` ends as DEADLINE_EXCEEDED. */
  signal?: AbortSignal;
  /** Milliseconds the call may take; default: the method's (see method-defaults.ts). */
  timeoutMs?: number;
  /** Request metadata sent besides the pool's own (the bearer token). */
  metadata?: Record<string, string>;
}
