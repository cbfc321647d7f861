import type { EventEmitter } from "node:events";
import type { Metadata, ServerUnaryCall } from "@grpc/grpc-js";
import { endRpcSpan, startServerSpan, tracingOn, withContext } from "../tracing/spans.js";

/** What a handler knows of its call besides the request. */
export interface CallContext {
  /** Aborted when the client cancels, the deadline passes or the server is forced down. */
  readonly signal: AbortSignal;
  metadata: Metadata;
  peer: string;
}

/** A server call of any of the four kinds: each has metadata, a peer, and a "cancelled" event. */
export type AnyServerCall = Pick<ServerUnaryCall<unknown, unknown>, "metadata" | "getPeer" | "getPath"> &
  EventEmitter;

/** A call's context as the host holds it: `end` says its reply is on its way. */
export interface HostCallContext extends CallContext {
  /**
   * The reply (or the status) is being sent: a "cancelled" grpc-js reports after this is the
   * stream closing, not the client cancelling, and leaves the signal alone. `error` is what the
   * handler threw, if it did (for the call's span).
   */
  end(error?: unknown): void;
  /**
   * Runs the handler's function inside the call's span (docs/observability.md, Traces): worker
   * threads, batch items and nested calls it starts are the span's children. As it is without tracing.
   */
  within<T>(fn: () => T): T;
}

/**
 * The context of a call. Its signal is made on first use: most small calls never look at it,
 * and grpc-js reports "cancelled" even after a call has ended, so an eager controller would cost
 * an AbortController and a DOMException (with its stack) on every call.
 */
export function callContext(call: AnyServerCall): HostCallContext {
  let controller: AbortController | undefined;
  let cancelled = false;
  let ended = false;
  // grpc-js reports client cancellation and deadline expiry both as "cancelled", and the close of
  // a call that ended well too: only one before the reply counts.
  call.once("cancelled", () => {
    if (ended) return;
    cancelled = true;
    controller?.abort(new DOMException("call cancelled", "AbortError"));
  });
  // The call's span, child of the client's (its traceparent) or of the in-process caller's.
  const traced = tracingOn()
    ? startServerSpan(
        call.getPath(),
        call.metadata,
        call.getPeer(),
        (call as { inProcess?: boolean }).inProcess === true,
      )
    : undefined;
  return {
    get signal() {
      if (!controller) {
        controller = new AbortController();
        if (cancelled) controller.abort(new DOMException("call cancelled", "AbortError"));
      }
      return controller.signal;
    },
    metadata: call.metadata,
    peer: call.getPeer(),
    end: (error?: unknown) => {
      if (traced && !ended) endRpcSpan(traced.span, error, "server");
      ended = true;
    },
    within: traced ? (fn) => withContext(traced.context, fn) : (fn) => fn(),
  };
}
