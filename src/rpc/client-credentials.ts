import { readFileSync } from "node:fs";
import type { SecureClientSessionOptions } from "node:http2";

/** A client's TLS: the CA that verifies servers, and a certificate for mutual TLS. */
export type ClientTls = Pick<SecureClientSessionOptions, "ca" | "cert" | "key" | "servername">;

/** Request metadata as headers: `-bin` keys take Buffers (sent base64), the others strings. */
export type CallMetadata = Record<string, string | Buffer>;

export interface ClientSecurity {
  /** CA that signed the servers' certificates (PEM file); TLS is on when any TLS file is given. */
  tlsCa?: string;
  /** Our certificate and key, for servers that require mutual TLS. */
  tlsCert?: string;
  tlsKey?: string;
  /** The bearer token itself (not its file). */
  token?: string;
}

/**
 * The TLS of a connection for the options: none (plaintext), TLS verified against `tlsCa` (or the
 * system's roots), or mutual TLS with our certificate. Unreadable or unpaired files are refused.
 */
export function transportTls(security: ClientSecurity = {}): ClientTls | undefined {
  const { tlsCa, tlsCert, tlsKey } = security;
  if (!tlsCa && !tlsCert && !tlsKey) return undefined;
  if (Boolean(tlsCert) !== Boolean(tlsKey)) throw new RangeError("--tls-cert and --tls-key go together");
  return {
    ca: tlsCa ? readFlagFile(tlsCa, "--tls-ca") : undefined,
    key: tlsKey ? readFlagFile(tlsKey, "--tls-key") : undefined,
    cert: tlsCert ? readFlagFile(tlsCert, "--tls-cert") : undefined,
  };
}

/** The metadata sent with every call: the bearer token when there is one. */
export function callMetadata(security: ClientSecurity = {}): CallMetadata {
  return security.token ? { authorization: `Bearer ${security.token}` } : {};
}

/** Reads a token file: its content without surrounding whitespace; an empty file is refused. */
export function readTokenFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new RangeError(`--token-file: cannot read ${path}: ${unreadable(error)}`);
  }
  const token = text.trim();
  if (token === "") throw new RangeError(`--token-file: ${path} is empty`);
  return token;
}

/** A file a flag names (a TLS certificate or key, on either side): a RangeError in words if unreadable. */
export function readFlagFile(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new RangeError(`${flag}: cannot read ${path}: ${unreadable(error)}`);
  }
}

/**
 * Why a file could not be read, in a person's words ("no such file", not "ENOENT: no such file or
 * directory, open '...'"); undefined for a failure that has no such words.
 */
export function fileErrorWords(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "it is a folder, not a file";
  return undefined;
}

function unreadable(error: unknown): string {
  return fileErrorWords(error) ?? (error as NodeJS.ErrnoException)?.code ?? String(error);
}
