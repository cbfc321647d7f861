import type { ClientError } from "./client-error.js";
import { Status } from "./grpc-status.js";
import { ServerError } from "./server-error.js";

/**
 * Refusals that concern the server, not the request: this server cannot run the call (it lacks
 * what the call needs, e.g. a --data-root to read a named file from), another one may. They are
 * FAILED_PRECONDITION with an ErrorInfo of one of these reasons, so that a pool moves the task to
 * a server that has not refused it, and fails it only when every server did, naming them all;
 * FAILED_PRECONDITION without such a reason stays a refusal of the request itself.
 */
export const noDataRootReason = "NO_DATA_ROOT";
const unableHereReasons: ReadonlySet<string> = new Set([noDataRootReason]);

/** The refusal of a server that serves no files (started without --data-root). */
export function noDataRoot(): ServerError {
  return new ServerError(
    Status.FAILED_PRECONDITION,
    "this server serves no files: start it with --data-root DIR",
    {
      errorInfo: { reason: noDataRootReason, domain: "rpcpool", metadata: {} },
    },
  );
}

/** Whether a failure says the server cannot run the call here, though another server may. */
export function unableHere(error: ClientError): boolean {
  if (error.code !== Status.FAILED_PRECONDITION) return false;
  const info = error.errorDetails.errorInfo;
  return info?.domain === "rpcpool" && unableHereReasons.has(info.reason);
}
