import { EventEmitter } from "node:events";
import {
  type handleClientStreamingCall,
  type handleUnaryCall,
  type Metadata,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { ServerError } from "../rpc/server-error.js";
import { decodeStatus, statusDetailsKey } from "../rpc/status-details.js";
import type { OneShotMethod } from "./method-registry.js";

/** What a call made inside the server carries of the call that asked for it. */
export interface LocalCall {
  metadata: Metadata;
  peer: string;
  signal: AbortSignal;
}

/**
 * Runs a hosted unary or client-stream method inside the server, through its own handler (the
 * same checks, worker threads and errors as a call from outside), on serialized requests: one for
 * a unary method, the stream's messages for a client stream. Returns the serialized response; a
 * refusal is rethrown as a ServerError with its code, message and standard details.
 */
export function invokeLocal(
  method: OneShotMethod,
  requests: readonly Buffer[],
  call: LocalCall,
): Promise<Buffer> {
  const { spec } = method;
  if (!spec.requestStream && requests.length !== 1) {
    return Promise.reject(
      new ServerError(status.INVALID_ARGUMENT, `${spec.path} is unary: it takes exactly one request`),
    );
  }
  let decoded: unknown[];
  try {
    decoded = requests.map((bytes) => spec.requestDeserialize(bytes));
  } catch (error) {
    return Promise.reject(
      new ServerError(status.INVALID_ARGUMENT, `bad request for ${spec.path}: ${(error as Error).message}`),
    );
  }
  // The handler sees the shape of a real call: its request(s), metadata, peer and cancellation.
  const fake = Object.assign(new EventEmitter(), {
    request: decoded[0],
    metadata: call.metadata,
    cancelled: false,
    getPeer: () => call.peer,
    getDeadline: () => Number.POSITIVE_INFINITY,
    getPath: () => spec.path,
    sendMetadata: () => {},
    async *[Symbol.asyncIterator]() {
      yield* decoded;
    },
  });
  const onAbort = () => {
    fake.cancelled = true;
    fake.emit("cancelled");
  };
  call.signal.addEventListener("abort", onAbort, { once: true });
  return new Promise<Buffer>((resolve, reject) => {
    const done = (error: Partial<ServiceError> | null, value: unknown) => {
      call.signal.removeEventListener("abort", onAbort);
      if (!error) {
        resolve(spec.responseSerialize(value));
        return;
      }
      const bin = error.metadata?.get(statusDetailsKey)[0];
      const details = bin instanceof Buffer ? decodeStatus(bin).details : {};
      reject(new ServerError(error.code ?? status.UNKNOWN, error.details ?? error.message ?? "", details));
    };
    if (spec.requestStream) {
      (method.handler as handleClientStreamingCall<unknown, unknown>)(fake as never, done as never);
    } else {
      (method.handler as handleUnaryCall<unknown, unknown>)(fake as never, done as never);
    }
  });
}
