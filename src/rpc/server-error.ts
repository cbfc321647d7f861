import { Metadata, status } from "@grpc/grpc-js";
import { type ErrorDetails, encodeStatus, statusDetailsKey } from "./status-details.js";

/**
 * An error a handler throws on purpose: it reaches the client with its gRPC status code, its
 * message, and its standard details (google.rpc.Status in grpc-status-details-bin).
 */
export class ServerError extends Error {
  override name = "ServerError";
  constructor(
    readonly code: status,
    message: string,
    readonly errorDetails: ErrorDetails = {},
  ) {
    super(message);
  }

  /**
   * The trailers the status goes with: the standard details and, for one version, each
   * ErrorInfo metadata entry as `rpcpool-KEY` (the trailers 0.1 clients read).
   */
  trailers(): Metadata {
    const metadata = new Metadata();
    if (Object.keys(this.errorDetails).length > 0) {
      metadata.set(statusDetailsKey, encodeStatus(this.code, this.message, this.errorDetails));
      for (const [key, value] of Object.entries(this.errorDetails.errorInfo?.metadata ?? {})) {
        metadata.set(`rpcpool-${key}`, value);
      }
    }
    return metadata;
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
