import { Metadata, status } from "@grpc/grpc-js";

/** An error a handler throws on purpose: it reaches the client with its gRPC status code. */
export class ServerError extends Error {
  override name = "ServerError";
  constructor(
    readonly code: status,
    message: string,
    /** Sent as trailing metadata, for clients that want the fields rather than the words. */
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
  }

  trailers(): Metadata {
    const metadata = new Metadata();
    for (const [key, value] of Object.entries(this.fields)) metadata.set(`rpcpool-${key}`, value);
    return metadata;
  }
}

export const invalidArgument = (message: string, fields?: Record<string, string>) =>
  new ServerError(status.INVALID_ARGUMENT, message, fields);
