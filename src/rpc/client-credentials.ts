import { readFileSync } from "node:fs";
import { type ChannelCredentials, credentials, Metadata } from "@grpc/grpc-js";

export interface ClientSecurity {
  /** CA that signed the servers' certificates (PEM file); TLS is on when any TLS file is given. */
  tlsCa?: string;
  /** Our certificate and key, for servers that require mutual TLS. */
  tlsCert?: string;
  tlsKey?: string;
  /** The bearer token itself (not its file). */
  token?: string;
}

/** Channel credentials for the options: plaintext, TLS, or mutual TLS. */
export function channelCredentials(security: ClientSecurity = {}): ChannelCredentials {
  const { tlsCa, tlsCert, tlsKey } = security;
  if (!tlsCa && !tlsCert && !tlsKey) return credentials.createInsecure();
  if (Boolean(tlsCert) !== Boolean(tlsKey)) throw new RangeError("--tls-cert and --tls-key go together");
  return credentials.createSsl(
    tlsCa ? read(tlsCa, "--tls-ca") : null,
    tlsKey ? read(tlsKey, "--tls-key") : null,
    tlsCert ? read(tlsCert, "--tls-cert") : null,
  );
}

/** The metadata sent with every call: the bearer token when there is one. */
export function callMetadata(security: ClientSecurity = {}): () => Metadata {
  const token = security.token;
  return () => {
    const metadata = new Metadata();
    if (token) metadata.set("authorization", `Bearer ${token}`);
    return metadata;
  };
}

/** Reads a token file: its content without surrounding whitespace; an empty file is refused. */
export function readTokenFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new RangeError(
      `--token-file: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  const token = text.trim();
  if (token === "") throw new RangeError(`--token-file: ${path} is empty`);
  return token;
}

function read(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new RangeError(`${flag}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
}
