import { GrpcJsTransport } from "./grpc-js-transport.js";
import { Http2Transport } from "./http2-transport.js";
import type { Transport, TransportOptions } from "./transport.js";

/** The transport `options.kind` names: rpcpool's node:http2 client by default, or grpc-js's. */
export function createTransport(address: string, options: TransportOptions = {}): Transport {
  const kind = options.kind ?? "http2";
  if (kind === "http2") return new Http2Transport(address, options);
  if (kind === "grpc-js") return new GrpcJsTransport(address, options);
  throw new RangeError(`transport kind "${kind as string}": "http2" or "grpc-js"`);
}
