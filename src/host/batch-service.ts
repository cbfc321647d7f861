import { EventEmitter } from "node:events";
import {
  type handleUnaryCall,
  type Metadata,
  type ServerUnaryCall,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import type { InvokeRequest, InvokeResponse, InvokeResult } from "../gen/rpcpool/pool/v1/batch.js";
import { ServerError } from "../rpc/server-error.js";
import { statusDetailsKey } from "../rpc/status-details.js";
import { type HandlerDeps, unary } from "./handlers.js";
import { type ServerIdentity, servedBy } from "./identity.js";
import type { MethodRegistry, UnaryMethod } from "./method-registry.js";

export interface BatchDeps extends HandlerDeps {
  registry: MethodRegistry;
  identity: ServerIdentity;
  /** Most items one batch may carry. */
  maxItems?: number;
}

const empty = Buffer.alloc(0);

/**
 * rpcpool.pool.v1.BatchService/Invoke: runs each item through the method's own handler, as if it
 * had been called alone (same validation, same worker threads, same errors), so batching needs
 * nothing from the service's author. Each item keeps its status: its code, its message, and its
 * standard details (the serialized google.rpc.Status) when it failed with some.
 */
export function batchHandler(deps: BatchDeps): handleUnaryCall<InvokeRequest, InvokeResponse> {
  const maxItems = deps.maxItems ?? 100_000;
  return unary(deps, async (request: InvokeRequest, context) => {
    const method = deps.registry.unary(request.method);
    if (!method)
      throw new ServerError(status.UNIMPLEMENTED, `no unary method ${request.method} on this server`);
    if (request.requests.length > maxItems) {
      throw new ServerError(status.RESOURCE_EXHAUSTED, `a batch may carry at most ${maxItems} items`);
    }
    const results = await Promise.all(
      request.requests.map((bytes) =>
        invokeOne(method, bytes, context.metadata, context.peer, context.signal),
      ),
    );
    return { results, servedBy: servedBy(deps.identity) };
  });
}

function invokeOne(
  method: UnaryMethod,
  bytes: Buffer,
  metadata: Metadata,
  peer: string,
  signal: AbortSignal,
): Promise<InvokeResult> {
  let request: unknown;
  try {
    request = method.spec.requestDeserialize(bytes);
  } catch (error) {
    return Promise.resolve({
      response: empty,
      code: status.INVALID_ARGUMENT,
      message: `bad request: ${(error as Error).message}`,
      statusDetails: empty,
    });
  }
  // The handler sees the shape of a real unary call: request, metadata, peer, and cancellation.
  const call = Object.assign(new EventEmitter(), {
    request,
    metadata,
    cancelled: false,
    getPeer: () => peer,
    getDeadline: () => Number.POSITIVE_INFINITY,
    getPath: () => method.spec.path,
    sendMetadata: () => {},
  });
  const onAbort = () => {
    call.cancelled = true;
    call.emit("cancelled");
  };
  signal.addEventListener("abort", onAbort, { once: true });
  return new Promise<InvokeResult>((resolve) => {
    method.handler(call as unknown as ServerUnaryCall<unknown, unknown>, (error, value) => {
      signal.removeEventListener("abort", onAbort);
      if (error) {
        const e = error as Partial<ServiceError>;
        const details = e.metadata?.get(statusDetailsKey)[0];
        resolve({
          response: empty,
          code: e.code ?? status.UNKNOWN,
          message: e.details ?? e.message ?? "",
          statusDetails: details instanceof Buffer ? details : empty,
        });
      } else {
        resolve({
          response: method.spec.responseSerialize(value),
          code: status.OK,
          message: "",
          statusDetails: empty,
        });
      }
    });
  });
}
