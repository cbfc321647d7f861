import { Status as status } from "./grpc-status.js";
import { type ErrorDetails, encodeStatus, statusDetailsKey } from "./status-details.js";

/**
 * An error a handler throws on purpose: it reaches the client with its gRPC status code, its
 * message, and its standard details (google.rpc.Status in grpc-status-details-bin).
 */
export class ServerError extends Error {
  override name = "ServerError";
  constructor(
    readonly code: number,
    message: string,
    readonly errorDetails: ErrorDetails = {},
  ) {
    super(message);
  }

  /**
   * The trailers the status goes with: the standard details and, for one version, each
   * ErrorInfo metadata entry as `rpcpool-KEY` (the trailers 0.1 clients read). Plain values, so
   * that a client (which throws ServerErrors from its session callbacks) needs no grpc-js.
   */
  trailers(): Record<string, string | Buffer> {
    const trailers: Record<string, string | Buffer> = {};
    if (Object.keys(this.errorDetails).length > 0) {
      trailers[statusDetailsKey] = encodeStatus(this.code, this.message, this.errorDetails);
      for (const [key, value] of Object.entries(this.errorDetails.errorInfo?.metadata ?? {})) {
        trailers[`rpcpool-${key}`] = value;
      }
    }
    return trailers;
  }
}

/** A refusal of the request's content (INVALID_ARGUMENT), with a machine-readable reason and fields. */
export function invalidArgument(message: string, info?: { reason: string; fields: Record<string, string> }) {
  return new ServerError(
    status.INVALID_ARGUMENT,
    message,
    info ? { errorInfo: { reason: info.reason, domain: "rpcpool", metadata: info.fields } } : {},
  );
}
