import { type Metadata, type ServiceError, status } from "@grpc/grpc-js";

/** A call that ended with a non-OK gRPC status, as a typed value. */
export class ClientError extends Error {
  override name = "ClientError";
  constructor(
    readonly code: status,
    readonly details: string,
    /** Address of the server that answered, when known. */
    readonly server?: string,
    readonly metadata?: Metadata,
  ) {
    super(details);
  }

  /** The status name, e.g. "INVALID_ARGUMENT". */
  get codeName(): string {
    return status[this.code] ?? String(this.code);
  }

  static from(error: unknown, server?: string): ClientError {
    if (error instanceof ClientError) return error;
    const e = error as Partial<ServiceError> & Error;
    if (typeof e?.code === "number")
      return new ClientError(e.code, e.details ?? e.message, server, e.metadata);
    if (e?.name === "AbortError") return new ClientError(status.CANCELLED, e.message || "cancelled", server);
    return new ClientError(status.UNKNOWN, e?.message ?? String(error), server);
  }
}
