import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { ServerError } from "./server-error.js";

/**
 * Maps what a handler threw to a gRPC status. Our own refusals keep their code; a RangeError from a
 * computation is a refusal of its input; anything else is a bug and must not leak internals.
 */
export function toServiceError(error: unknown, onInternal: (error: unknown) => void): Partial<ServiceError> {
  if (error instanceof ServerError) {
    return { code: error.code, details: error.message, metadata: error.trailers() };
  }
  if (error instanceof RangeError) {
    return { code: status.INVALID_ARGUMENT, details: error.message, metadata: new Metadata() };
  }
  if (isAbort(error)) {
    return { code: status.CANCELLED, details: "cancelled", metadata: new Metadata() };
  }
  onInternal(error);
  return {
    code: status.INTERNAL,
    details: "internal error (see the server's log)",
    metadata: new Metadata(),
  };
}

function isAbort(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.name === "AbortError" || (error as { code?: string }).code === "ABORT_ERR")
  );
}
