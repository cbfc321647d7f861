import { isIP } from "node:net";

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (bare === "localhost") return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  if (isIP(bare) === 6) return bare === "::1" || /^::ffff:127\./.test(bare);
  return false;
}

/**
 * What an operator should hear before exposing a server: anyone who can reach a non-loopback
 * address can run computations on it, and a token sent in clear text can be read on the way.
 */
export function exposureWarning(
  host: string,
  security: { tls: boolean; token: boolean },
): string | undefined {
  if (isLoopback(host)) return undefined;
  if (!security.tls && !security.token) {
    return `warning: listening on ${host} without TLS or a token: anyone who can reach this address can use the server (see --tls-cert, --tls-key, --token-file)`;
  }
  if (!security.tls) {
    return `warning: listening on ${host} without TLS: the token travels in clear text (see --tls-cert, --tls-key)`;
  }
  return undefined;
}
