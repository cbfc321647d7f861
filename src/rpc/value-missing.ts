import type { ClientError } from "./client-error.js";
import { Status } from "./grpc-status.js";
import { ServerError } from "./server-error.js";

/**
 * The one refusal both sides of the value store agree on (docs/collectives.md): a call that needs
 * a value the server does not hold (never put there, dropped, evicted, or lost with a restart)
 * fails with FAILED_PRECONDITION and an ErrorInfo of this reason naming the handle, so that a pool
 * that holds the value can put it again and retry, with no user code involved.
 */
export const valueMissingReason = "VALUE_MISSING";

/** The error a server throws for a handle its store does not hold. */
export function valueMissing(handle: string): ServerError {
  return new ServerError(
    Status.FAILED_PRECONDITION,
    `value ${handle} is not in this server's store (never put here, dropped, evicted or lost in a restart)`,
    { errorInfo: { reason: valueMissingReason, domain: "rpcpool", metadata: { handle } } },
  );
}

/** The handle a refusal names as missing, if it is that refusal. */
export function missingHandleOf(error: ClientError): string | undefined {
  if (error.code !== Status.FAILED_PRECONDITION) return undefined;
  const info = error.errorDetails.errorInfo;
  if (info?.reason !== valueMissingReason) return undefined;
  return info.metadata?.handle || undefined;
}

/** A handle is the lowercase hex SHA-256 of the value's bytes. */
export function isHandle(text: string): boolean {
  return /^[0-9a-f]{64}$/.test(text);
}
