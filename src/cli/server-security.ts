import { readFileSync } from "node:fs";
import type { ServerCredentials } from "@grpc/grpc-js";
import { BearerToken } from "../host/bearer-token.js";
import { serverCredentials } from "../host/tls.js";
import { readTokenFile, unreadable } from "../rpc/client-credentials.js";
import { UsageError } from "./run-program.js";

/** The server's TLS and token from its flags; unreadable or mismatched files are usage errors. */
export function serverSecurity(options: {
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tokenFile?: string;
}): {
  credentials: ServerCredentials;
  tls: boolean;
  token?: BearerToken;
} {
  try {
    if (Boolean(options.tlsCert) !== Boolean(options.tlsKey))
      throw new RangeError("--tls-cert and --tls-key go together");
    if (options.tlsCa && !options.tlsCert)
      throw new RangeError("--tls-ca on the server needs --tls-cert and --tls-key");
    const tls = options.tlsCert
      ? {
          cert: readPem(options.tlsCert, "--tls-cert"),
          key: readPem(options.tlsKey!, "--tls-key"),
          ca: options.tlsCa ? readPem(options.tlsCa, "--tls-ca") : undefined,
        }
      : undefined;
    return {
      credentials: serverCredentials(tls),
      tls: tls !== undefined,
      token: options.tokenFile ? new BearerToken(readTokenFile(options.tokenFile)) : undefined,
    };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new RangeError(`${flag}: cannot read ${path}: ${unreadable(error)}`);
  }
}
