import { once } from "node:events";
import type { Client, ClientWritableStream, Metadata, ServiceError } from "@grpc/grpc-js";
import { ClientError } from "./client-error.js";
import type { MethodSpec } from "./method-spec.js";

/** A call with everything decided: its deadline, the caller's signal, and the metadata to send. */
export interface ResolvedCall {
  /** Epoch milliseconds; Infinity for none. */
  deadline: number;
  signal?: AbortSignal;
  metadata: Metadata;
  /** Address of the server, named in errors. */
  server: string;
}

/** Why a call ended early when the caller's signal did it: CANCELLED, or DEADLINE_EXCEEDED for a timeout. */
function failure(error: ServiceError, call: ResolvedCall): ClientError {
  if (call.signal?.aborted) return ClientError.fromAbort(call.signal, call.server);
  return ClientError.from(error, call.server);
}

/** Calls a unary method; failures are ClientErrors; aborting the signal cancels the call. */
export function unaryCall<Req, Res>(
  client: Client,
  method: MethodSpec<Req, Res>,
  request: Req,
  call: ResolvedCall,
): Promise<Res> {
  const { signal } = call;
  if (signal?.aborted) return Promise.reject(ClientError.fromAbort(signal, call.server));
  return new Promise<Res>((resolve, reject) => {
    const grpcCall = client.makeUnaryRequest<Req, Res>(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      call.metadata,
      { deadline: call.deadline },
      (error, response) => {
        signal?.removeEventListener("abort", onAbort);
        if (error) reject(failure(error, call));
        else resolve(response as Res);
      },
    );
    const onAbort = () => grpcCall.cancel();
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Streams requests to a client-streaming method with backpressure (waits for "drain"). The reply may
 * come while requests are still being written (the server refused early): writing stops then. A
 * failure of the source cancels the call and is rethrown as it is.
 */
export async function clientStreamCall<Req, Res>(
  client: Client,
  method: MethodSpec<Req, Res>,
  requests: AsyncIterable<Req> | Iterable<Req>,
  call: ResolvedCall,
): Promise<Res> {
  const { signal } = call;
  if (signal?.aborted) throw ClientError.fromAbort(signal, call.server);
  let settled = false;
  let stream!: ClientWritableStream<Req>;
  const onAbort = () => stream.cancel();
  const result = new Promise<Res>((resolve, reject) => {
    stream = client.makeClientStreamRequest<Req, Res>(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      call.metadata,
      { deadline: call.deadline },
      (error, response) => {
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        if (error) reject(failure(error, call));
        else resolve(response as Res);
      },
    );
  });
  signal?.addEventListener("abort", onAbort, { once: true });
  const ended = result.then(
    () => undefined,
    () => undefined,
  );
  try {
    for await (const request of requests) {
      if (settled) break;
      if (!stream.write(request)) await Promise.race([once(stream, "drain"), ended]);
    }
    if (!settled) stream.end();
  } catch (sourceError) {
    stream.cancel();
    result.catch(() => {});
    throw sourceError;
  }
  return result;
}
