import { ClientError } from "../rpc/client-error.js";
import { Status as status } from "../rpc/grpc-status.js";

/** Words of TLS failures as Node's tls module and OpenSSL give them. */
const tlsWords =
  /certificate|self[- ]signed|altnames|SSL routines|wrong version number|ERR_TLS|ERR_SSL|handshake|unable to (get|verify)/i;

/** Words of a peer that answered, but not in HTTP/2 (an HTTP/1 server, a plain TCP service). */
const notHttp2Words = /^Protocol error$|ERR_HTTP2_(ERROR|SESSION_ERROR)|NGHTTP2_PROTOCOL_ERROR|Parse Error/i;

/** The error codes of a failure and of its causes. */
function codesOf(error: unknown): string[] {
  const codes: string[] = [];
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (typeof e.code === "string") codes.push(e.code);
    e = e.cause as typeof e;
  }
  return codes;
}

/**
 * What kind of failure kept a server out, read from its code, its cause's codes and Node's words
 * (which any transport on node:http2 and node:net passes on): nothing listening ("refused"), a
 * peer that is not a gRPC server ("not-grpc"), a TLS refusal, or another.
 */
export type ConnectFailureKind = "refused" | "not-grpc" | "tls" | "other";

export function connectFailureKind(error: ClientError): ConnectFailureKind {
  if (error.code !== status.UNAVAILABLE) return "other";
  const codes = codesOf(error.cause);
  const words = error.details;
  if (codes.includes("ECONNREFUSED") || /\bECONNREFUSED\b/.test(words)) return "refused";
  if (tlsWords.test(words)) return "tls";
  const reason = words.replace(/^No connection established\.\s*Last error:\s*(Error:\s*)?/s, "").trim();
  if (
    codes.includes("ERR_HTTP2_ERROR") ||
    codes.includes("ERR_HTTP2_SESSION_ERROR") ||
    notHttp2Words.test(reason)
  ) {
    return "not-grpc";
  }
  return "other";
}

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
  // "Protocol error" says nothing to a person who gave the port of a web server by mistake.
  if (!tls && error.server && connectFailureKind(error) === "not-grpc") {
    reason = `${error.server} does not speak gRPC (is it an rpcpool-server?)`;
  }
  return { reason, tls };
}

/** The failures a pool that reached no server met, one per server it tried (noServerError's cause). */
export function unreachableFailures(error: ClientError): ClientError[] {
  const cause = error.cause;
  return Array.isArray(cause) && cause.every((c) => c instanceof ClientError) ? cause : [];
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
  // The failures travel as the cause: a program says what to do about them (src/cli/output.ts).
  return new ClientError(status.UNAVAILABLE, `no server could be reached (${targets.join(", ")})${why}`, {
    cause: failures,
  });
}
