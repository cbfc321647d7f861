import { ServerCredentials } from "@grpc/grpc-js";

/** PEM contents of the server's certificate chain and key, and of the CA its clients must be signed by. */
export interface ServerTls {
  cert: Buffer;
  key: Buffer;
  /** With a CA, clients must present a certificate it signed (mutual TLS). */
  ca?: Buffer;
}

/** Plain text without TLS; TLS with a certificate; mutual TLS when a client CA is given. */
export function serverCredentials(tls?: ServerTls): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(
    tls.ca ?? null,
    [{ cert_chain: tls.cert, private_key: tls.key }],
    tls.ca !== undefined,
  );
}
