import { Status, statusName } from "./grpc-status.js";
import type { Idempotency } from "./method-spec.js";
import { decodeStatus, type ErrorDetails, statusDetailsKey } from "./status-details.js";

/** The name of a gRPC status code, e.g. "INVALID_ARGUMENT". */
export const codeName = statusName;

/** Trailing metadata of a reply: `-bin` values as Buffers, the others as strings. */
export type Trailers = Readonly<Record<string, string | Buffer>>;

export interface ClientErrorOptions {
  /** Address of the server that answered, when known. */
  server?: string;
  /** The reply's trailing metadata. */
  trailers?: Trailers;
  /** The standard details the server sent (google.rpc.Status in grpc-status-details-bin). */
  errorDetails?: ErrorDetails;
  /** The call that failed, when the failure is a call's (the transport says). */
  call?: FailedCall;
  cause?: unknown;
}

/**
 * The call a failure ended, as the pool needs it to decide whether running the task again is
 * safe: its method, what the method's proto says of running twice, and whether the request may
 * have reached the server (false: it never left this client, e.g. the connection was refused).
 */
export interface FailedCall {
  method: string;
  idempotency: Idempotency;
  sent: boolean;
}

/**
 * A call that ended with a non-OK gRPC status, as a typed value. Its message starts with the code
 * name ("INVALID_ARGUMENT: t.csv: line 12, column 4: ..."); `details` is the server's text alone.
 */
export class ClientError extends Error {
  override name = "ClientError";
  readonly server?: string;
  readonly trailers: Trailers;
  readonly errorDetails: ErrorDetails;
  declare readonly call?: FailedCall;

  constructor(
    readonly code: number,
    readonly details: string,
    options: ClientErrorOptions = {},
  ) {
    super(
      `${codeName(code)}: ${details}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.server = options.server;
    this.trailers = options.trailers ?? {};
    this.errorDetails = options.errorDetails ?? {};
    if (options.call) (this as { call?: FailedCall }).call = options.call;
  }

  get codeName(): string {
    return codeName(this.code);
  }

  /** This error as seen from `server`, unless it already names one. */
  at(server: string): ClientError {
    if (this.server !== undefined) return this;
    return new ClientError(this.code, this.details, { ...this, server, cause: this.cause });
  }

  /** This error as the failure of `call`, unless it already is a call's. */
  of(call: FailedCall): ClientError {
    if (this.call !== undefined) return this;
    return new ClientError(this.code, this.details, { ...this, call, cause: this.cause });
  }

  /** A status as a reply's trailers carry it, its standard details decoded (HTTP/2 sends -bin values in base64). */
  static fromTrailers(
    code: number,
    details: string,
    headers: Readonly<Record<string, string | string[] | undefined>>,
    server?: string,
  ): ClientError {
    const trailers: Record<string, string | Buffer> = {};
    for (const [key, value] of Object.entries(headers)) {
      if (key.startsWith(":") || value === undefined) continue;
      const text = Array.isArray(value) ? value[0]! : value;
      trailers[key] = key.endsWith("-bin") ? Buffer.from(text, "base64") : text;
    }
    return new ClientError(code, details, { server, trailers, errorDetails: detailsOf(trailers) });
  }

  /**
   * Any failure as a ClientError: a gRPC status (a grpc-js ServiceError too, its standard details
   * decoded), our own cancellation (CANCELLED), an `AbortSignal.timeout` that fired
   * (DEADLINE_EXCEEDED), or else UNKNOWN with the error's message.
   */
  static from(error: unknown, server?: string): ClientError {
    if (error instanceof ClientError) return server === undefined ? error : error.at(server);
    const e = error as Error & {
      code?: unknown;
      details?: string;
      metadata?: { getMap?(): object } | object;
    };
    // DOMExceptions carry numeric codes of their own: tell them apart by name first.
    if (e?.name === "TimeoutError") {
      return new ClientError(Status.DEADLINE_EXCEEDED, e.message || "deadline exceeded", {
        server,
        cause: error,
      });
    }
    if (e?.name === "AbortError") {
      return new ClientError(Status.CANCELLED, e.message || "cancelled", { server, cause: error });
    }
    if (typeof e?.code === "number") {
      // grpc-js's Metadata, or trailers as plain values (a ServerError's).
      const metadata = e.metadata as { getMap?(): object } | undefined;
      const trailers = (
        typeof metadata?.getMap === "function" ? metadata.getMap() : (metadata ?? {})
      ) as Record<string, string | Buffer>;
      return new ClientError(e.code, e.details ?? e.message, {
        server,
        trailers,
        errorDetails: detailsOf(trailers),
      });
    }
    return new ClientError(Status.UNKNOWN, e?.message ?? String(error), { server, cause: error });
  }

  /** Why a signal was aborted, as the error a call cancelled by it reports. */
  static fromAbort(signal: AbortSignal, server?: string): ClientError {
    const reason = signal.reason as Error | undefined;
    if (reason?.name === "TimeoutError") return ClientError.from(reason, server);
    if (reason instanceof ClientError) return reason;
    return new ClientError(Status.CANCELLED, reason?.message || "cancelled by the caller", {
      server,
      cause: reason,
    });
  }
}

/** The standard details in grpc-status-details-bin; a malformed value must not hide its status. */
function detailsOf(trailers: Record<string, string | Buffer>): ErrorDetails | undefined {
  const bytes = trailers[statusDetailsKey];
  if (!(bytes instanceof Buffer)) return undefined;
  try {
    return decodeStatus(bytes).details;
  } catch {
    return undefined;
  }
}
