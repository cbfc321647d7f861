import { GrpcJsTransport } from "./grpc-js-transport.js";
import { Http2Transport } from "./http2-transport.js";
import { tracedWhenOn } from "./traced-transport.js";
import type { Transport, TransportOptions } from "./transport.js";

/**
 * The transport `options.kind` names: rpcpool's node:http2 client by default, or grpc-js's; with
 * a client span per call when tracing is on (traced-transport.ts).
 */
export function createTransport(address: string, options: TransportOptions = {}): Transport {
  return tracedWhenOn(untracedTransport(address, options));
}

function untracedTransport(address: string, options: TransportOptions): Transport {
  const kind = options.kind ?? "http2";
  if (kind === "http2") return new Http2Transport(address, options);
  if (kind === "grpc-js") return new GrpcJsTransport(address, options);
  throw new RangeError(`transport kind "${kind as string}": "http2" or "grpc-js"`);
}
