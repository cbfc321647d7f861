import { type Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { decodeStatus, type ErrorDetails, statusDetailsKey } from "./status-details.js";

/** The name of a gRPC status code, e.g. "INVALID_ARGUMENT". */
export function codeName(code: status): string {
  return status[code] ?? String(code);
}

export interface ClientErrorOptions {
  /** Address of the server that answered, when known. */
  server?: string;
  metadata?: Metadata;
  /** The standard details the server sent (google.rpc.Status in grpc-status-details-bin). */
  errorDetails?: ErrorDetails;
  cause?: unknown;
}

/**
 * A call that ended with a non-OK gRPC status, as a typed value. Its message starts with the code
 * name ("INVALID_ARGUMENT: t.csv: line 12, column 4: ..."); `details` is the server's text alone.
 */
export class ClientError extends Error {
  override name = "ClientError";
  readonly server?: string;
  readonly metadata?: Metadata;
  readonly errorDetails: ErrorDetails;

  constructor(
    readonly code: status,
    readonly details: string,
    options: ClientErrorOptions = {},
  ) {
    super(
      `${codeName(code)}: ${details}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.server = options.server;
    this.metadata = options.metadata;
    this.errorDetails = options.errorDetails ?? {};
  }

  get codeName(): string {
    return codeName(this.code);
  }

  /** This error as seen from `server`, unless it already names one. */
  at(server: string): ClientError {
    if (this.server !== undefined) return this;
    return new ClientError(this.code, this.details, { ...this, server, cause: this.cause });
  }

  /**
   * Any failure as a ClientError: a grpc-js status (with its standard details decoded), our own
   * cancellation (CANCELLED), an `AbortSignal.timeout` that fired (DEADLINE_EXCEEDED), or else
   * UNKNOWN with the error's message.
   */
  static from(error: unknown, server?: string): ClientError {
    if (error instanceof ClientError) return server === undefined ? error : error.at(server);
    const e = error as Partial<ServiceError> & Error;
    // DOMExceptions carry numeric codes of their own: tell them apart by name first.
    if (e?.name === "TimeoutError") {
      return new ClientError(status.DEADLINE_EXCEEDED, e.message || "deadline exceeded", {
        server,
        cause: error,
      });
    }
    if (e?.name === "AbortError") {
      return new ClientError(status.CANCELLED, e.message || "cancelled", { server, cause: error });
    }
    if (typeof e?.code === "number") {
      const bytes = e.metadata?.get(statusDetailsKey)[0];
      let errorDetails: ErrorDetails | undefined;
      try {
        errorDetails = bytes instanceof Buffer ? decodeStatus(bytes).details : undefined;
      } catch {
        // A malformed details trailer must not hide the status it came with.
      }
      return new ClientError(e.code, e.details ?? e.message, { server, metadata: e.metadata, errorDetails });
    }
    return new ClientError(status.UNKNOWN, e?.message ?? String(error), { server, cause: error });
  }

  /** Why a signal was aborted, as the error a call cancelled by it reports. */
  static fromAbort(signal: AbortSignal, server?: string): ClientError {
    const reason = signal.reason as Error | undefined;
    if (reason?.name === "TimeoutError") return ClientError.from(reason, server);
    if (reason instanceof ClientError) return reason;
    return new ClientError(status.CANCELLED, reason?.message || "cancelled by the caller", {
      server,
      cause: reason,
    });
  }
}
