import type { ServerCredentials } from "@grpc/grpc-js";
import { BearerToken } from "../host/bearer-token.js";
import { serverCredentials } from "../host/tls.js";
import { readFlagFile, readTokenFile } from "../rpc/client-credentials.js";
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
          cert: readFlagFile(options.tlsCert, "--tls-cert"),
          key: readFlagFile(options.tlsKey!, "--tls-key"),
          ca: options.tlsCa ? readFlagFile(options.tlsCa, "--tls-ca") : undefined,
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
