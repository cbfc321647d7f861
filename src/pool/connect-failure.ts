import { ClientError } from "../rpc/client-error.js";
import { Status as status } from "../rpc/grpc-status.js";

/** Words of TLS failures as Node's tls module and OpenSSL give them. */
const tlsWords =
  /certificate|self[- ]signed|altnames|SSL routines|wrong version number|ERR_TLS|ERR_SSL|handshake|unable to (get|verify)/i;

/**
 * Why a server could not be reached, in a person's words. grpc-js says "No connection
 * established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: " with the
 * note often empty: the reason is kept, the framing and a dangling note dropped. A TLS refusal
 * (a certificate not trusted, a server that does not speak TLS) is said to be one.
 */
export function connectFailure(error: ClientError): { reason: string; tls: boolean } {
  let reason = error.details
    .replace(/\s*Resolution note:\s*$/s, "")
    .replace(/^No connection established\.\s*Last error:\s*/s, "")
    .replace(/^(Error|RangeError|TypeError):\s*/, "")
    // OpenSSL's own lines carry file positions: the reason is the words between the colons.
    .replace(/^[0-9A-F]+:error:[0-9A-F]+:SSL routines:[^:]*:([^:]+):.*$/s, "$1")
    .replace(/\.+$/, "")
    .trim();
  const tls = error.code === status.UNAVAILABLE && tlsWords.test(reason);
  if (reason === "") reason = error.details.trim() || error.codeName;
  return { reason, tls };
}

/**
 * The error of a pool that reached no server. A refusal (wrong token, untrusted certificate) says
 * more than "unreachable": it is passed on, with what to check.
 */
export function noServerError(targets: string[], failures: ClientError[]): ClientError {
  const refusal = failures.find(
    (f) => f.code === status.UNAUTHENTICATED || f.code === status.PERMISSION_DENIED,
  );
  if (refusal) return new ClientError(refusal.code, `no server accepted us: ${refusal.details}`);
  const tls = failures.find((f) => connectFailure(f).tls);
  if (tls) {
    return new ClientError(
      status.UNAVAILABLE,
      `TLS refused (${tls.server ?? targets.join(", ")}: ${connectFailure(tls).reason}): ` +
        "is the CA given the one that signed the servers' certificates, and do they serve TLS?",
    );
  }
  const reasons = [...new Set(failures.map((f) => connectFailure(f).reason))];
  const why = reasons.length === 1 ? `: ${reasons[0]}` : "";
  return new ClientError(status.UNAVAILABLE, `no server could be reached (${targets.join(", ")})${why}`);
}
