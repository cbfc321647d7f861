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
  try {
    if (error instanceof ServerError) {
      return {
        code: error.code,
        details: wellFormed(error.message),
        metadata: trailerMetadata(error, onBug),
      };
    }
    if (isAbort(error)) {
      return { code: status.CANCELLED, details: "cancelled", metadata: new Metadata() };
    }
  } catch (bug) {
    // Mapping an error must never throw: it runs on the path that answers the call.
    onBug(bug);
    return internalError();
  }
  onBug(error);
  return internalError();
}

/** The status every bug is answered with: the same whatever went wrong, with nothing of its insides. */
export const internalError = (): StatusReply => ({
  code: status.INTERNAL,
  details: internalErrorDetails,
  metadata: new Metadata(),
});

/**
 * A ServerError's trailers as grpc-js Metadata. A value grpc-js refuses (its `set` throws) is left
 * out and reported as a bug, never thrown: the status itself must reach the client.
 */
function trailerMetadata(error: ServerError, onBug: (error: unknown) => void): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(error.trailers())) {
    try {
      metadata.set(key, value);
    } catch (refused) {
      onBug(refused);
    }
  }
  return metadata;
}

/** A lone surrogate as U+FFFD: grpc-js percent-encodes the details with encodeURI, which throws on one. */
const wellFormed = (text: string) =>
  text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");

/** An AbortSignal's DOMException, Node's AbortError (ABORT_ERR), or piscina's cancelled task. */
function isAbort(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.name === "AbortError" || (error as { code?: string }).code === "ABORT_ERR")
  );
}
