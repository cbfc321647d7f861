import { Metadata, status } from "@grpc/grpc-js";
import { ServerError } from "../rpc/server-error.js";

/** A gRPC status with its trailers, as grpc-js sends it for a handler's error. */
export interface StatusReply {
  code: status;
  details: string;
  metadata: Metadata;
}

export const internalErrorDetails = "internal error (see the server's log)";

/**
 * What a handler threw, as the status its client receives. Only errors thrown on purpose carry
 * their code: a ServerError keeps its code, message and standard details (and, for one version,
 * the legacy rpcpool-* trailers); an abort (the call was cancelled, and its work stopped with it)
 * is CANCELLED. Anything else is a bug, whatever its class (a RangeError or TypeError from deep
 * inside, a stack overflow): INTERNAL, with no internals in the message, and `onBug` gets the
 * error (for the server's log, with its stack).
 */
export function toStatus(error: unknown, onBug: (error: unknown) => void): StatusReply {
  if (error instanceof ServerError) {
    const metadata = new Metadata();
    for (const [key, value] of Object.entries(error.trailers())) metadata.set(key, value);
    return { code: error.code, details: error.message, metadata };
  }
  if (isAbort(error)) {
    return { code: status.CANCELLED, details: "cancelled", metadata: new Metadata() };
  }
  onBug(error);
  return { code: status.INTERNAL, details: internalErrorDetails, metadata: new Metadata() };
}

/** An AbortSignal's DOMException, Node's AbortError (ABORT_ERR), or piscina's cancelled task. */
function isAbort(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.name === "AbortError" || (error as { code?: string }).code === "ABORT_ERR")
  );
}
