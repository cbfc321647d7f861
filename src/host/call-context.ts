import type { EventEmitter } from "node:events";
import type { ServerUnaryCall } from "@grpc/grpc-js";
import { endRpcSpan, startServerSpan, tracingOn, withContext } from "../tracing/spans.js";
import { type ClientScope, callClient } from "./client-key.js";
import type { ContextTools, ServerCallContext } from "./service-implementation.js";

// What a handler knows of its call: defined beside the handlers' types, which build on it.
export type { CallContext } from "./service-implementation.js";

/** A server call of any of the four kinds: each has metadata, a peer, and a "cancelled" event. */
export type AnyServerCall = Pick<ServerUnaryCall<unknown, unknown>, "metadata" | "getPeer" | "getPath"> &
  Partial<Pick<ServerUnaryCall<unknown, unknown>, "getDeadline">> &
  EventEmitter;

/** A call's context as the host holds it: `end` says its reply is on its way. */
export interface HostCallContext extends ServerCallContext {
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
export function callContext(
  call: AnyServerCall,
  tools: ContextTools = noTools,
  clients?: ClientScope,
): HostCallContext {
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
  const peer = call.getPeer();
  // The call's span, child of the client's (its traceparent) or of the in-process caller's.
  const traced = tracingOn()
    ? startServerSpan(
        call.getPath(),
        call.metadata,
        peer,
        (call as { inProcess?: boolean }).inProcess === true,
      )
    : undefined;
  // The call's client rides with its handler's async context to the worker pool's turns.
  const who = clients ? callClient(call.metadata, peer) : undefined;
  const asClient = <T>(fn: () => T): T => (clients && who ? clients.run(who, fn) : fn());
  return {
    get signal() {
      if (!controller) {
        controller = new AbortController();
        if (cancelled) controller.abort(new DOMException("call cancelled", "AbortError"));
      }
      return controller.signal;
    },
    metadata: call.metadata,
    peer,
    // Read when asked: most handlers never look.
    get deadline() {
      const deadline = call.getDeadline?.();
      if (deadline === undefined || deadline === Number.POSITIVE_INFINITY) return undefined;
      return deadline instanceof Date ? deadline : new Date(deadline);
    },
    runOnWorker: tools.runOnWorker,
    store: tools.store,
    identity: tools.identity,
    log: tools.log,
    workers: tools.workers,
    end: (error?: unknown) => {
      if (traced && !ended) endRpcSpan(traced.span, error, "server");
      ended = true;
    },
    within: traced ? (fn) => asClient(() => withContext(traced.context, fn)) : asClient,
  };
}

/** For the framework's own handlers, which take their tools from elsewhere: using them is a bug. */
const noTools: ContextTools = {
  runOnWorker: () => Promise.reject(new Error("no worker threads here")),
  store: undefined as unknown as ContextTools["store"],
  identity: { server: "", host: "", pid: process.pid },
  log: (message) => process.stderr.write(`${message}\n`),
  workers: 0,
};
