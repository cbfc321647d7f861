import type { EventEmitter } from "node:events";
import type { Metadata, ServerUnaryCall } from "@grpc/grpc-js";

/** What a handler knows of its call besides the request. */
export interface CallContext {
  /** Aborted when the client cancels, the deadline passes or the server is forced down. */
  readonly signal: AbortSignal;
  metadata: Metadata;
  peer: string;
}

/** A server call of any of the four kinds: each has metadata, a peer, and a "cancelled" event. */
export type AnyServerCall = Pick<ServerUnaryCall<unknown, unknown>, "metadata" | "getPeer"> & EventEmitter;

/**
 * The context of a call. Its signal is made on first use: most small calls never look at it,
 * and grpc-js reports "cancelled" even after a call has ended, so an eager controller would cost
 * an AbortController and a DOMException (with its stack) on every call.
 */
export function callContext(call: AnyServerCall): CallContext {
  let controller: AbortController | undefined;
  let cancelled = false;
  // grpc-js reports client cancellation and deadline expiry both as "cancelled".
  call.once("cancelled", () => {
    cancelled = true;
    controller?.abort(new DOMException("call cancelled", "AbortError"));
  });
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
  };
}
