import type { CallOptions } from "@grpc/grpc-js";

/** Per-call controls every pool method takes. */
export interface CallControls {
  /** Aborting cancels the call; the server stops the work. */
  signal?: AbortSignal;
  /** Milliseconds the call may take. */
  timeoutMs?: number;
}

export function grpcCallOptions(controls: CallControls, defaultTimeoutMs: number): CallOptions {
  return { deadline: Date.now() + (controls.timeoutMs ?? defaultTimeoutMs) };
}

/** Cancels a grpc-js call when the signal aborts; returns the function that stops listening. */
export function cancelOnAbort(call: { cancel(): void }, signal?: AbortSignal): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    call.cancel();
    return () => {};
  }
  const onAbort = () => call.cancel();
  signal.addEventListener("abort", onAbort, { once: true });
  return () => signal.removeEventListener("abort", onAbort);
}
