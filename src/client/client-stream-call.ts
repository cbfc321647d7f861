import { once } from "node:events";
import type { CallOptions, ClientWritableStream, Metadata, ServiceError } from "@grpc/grpc-js";
import { type CallControls, cancelOnAbort, grpcCallOptions } from "./call-options.js";
import { ClientError } from "./client-error.js";

type ClientStreamMethod<Req, Res> = (
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientWritableStream<Req>;

/**
 * Streams requests to a client-streaming method with backpressure (waits for "drain"), under a
 * deadline and an AbortSignal. A failure of the source cancels the call and is rethrown as is.
 */
export async function clientStreamCall<Req, Res>(
  method: ClientStreamMethod<Req, Res>,
  requests: AsyncIterable<Req>,
  metadata: Metadata,
  controls: CallControls,
  defaultTimeoutMs: number,
  server?: string,
): Promise<Res> {
  let stop = () => {};
  let call!: ClientWritableStream<Req>;
  const result = new Promise<Res>((resolve, reject) => {
    call = method(metadata, grpcCallOptions(controls, defaultTimeoutMs), (error, response) => {
      stop();
      if (error) reject(ClientError.from(error, server));
      else resolve(response);
    });
  });
  stop = cancelOnAbort(call, controls.signal);
  // The outcome may arrive while we still write (the server refused early): stop writing then.
  let settled = false;
  result.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  try {
    for await (const request of requests) {
      if (settled) break;
      if (!call.write(request)) await Promise.race([once(call, "drain"), result.catch(() => {})]);
    }
    if (!settled) call.end();
  } catch (sourceError) {
    call.cancel();
    result.catch(() => {});
    throw sourceError;
  }
  return result;
}
