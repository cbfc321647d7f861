import type { CallOptions, ClientUnaryCall, Metadata, ServiceError } from "@grpc/grpc-js";
import { type CallControls, cancelOnAbort, grpcCallOptions } from "./call-options.js";
import { ClientError } from "./client-error.js";

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** Awaits a grpc-js unary method with a deadline and an AbortSignal; failures are ClientErrors. */
export function unaryCall<Req, Res>(
  method: UnaryMethod<Req, Res>,
  request: Req,
  metadata: Metadata,
  controls: CallControls,
  defaultTimeoutMs: number,
  server?: string,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const call = method(request, metadata, grpcCallOptions(controls, defaultTimeoutMs), (error, response) => {
      stop();
      if (error) reject(ClientError.from(error, server));
      else resolve(response);
    });
    const stop = cancelOnAbort(call, controls.signal);
  });
}
