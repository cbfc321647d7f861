import type { Metadata, ServerReadableStream, ServerUnaryCall } from "@grpc/grpc-js";

/** What a handler knows of its call besides the request. */
export interface CallContext {
  /** Aborted when the client cancels, the deadline passes or the server is forced down. */
  signal: AbortSignal;
  metadata: Metadata;
  peer: string;
}

export function callContext(
  call: ServerUnaryCall<unknown, unknown> | ServerReadableStream<unknown, unknown>,
): CallContext {
  const controller = new AbortController();
  // grpc-js reports client cancellation and deadline expiry both as "cancelled".
  call.once("cancelled", () => controller.abort(new DOMException("call cancelled", "AbortError")));
  return { signal: controller.signal, metadata: call.metadata, peer: call.getPeer() };
}
