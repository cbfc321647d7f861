import { type handleUnaryCall, status } from "@grpc/grpc-js";
import type { InvokeRequest, InvokeResponse } from "../gen/rpcpool/pool/v1/batch.js";
import { ServerError } from "../rpc/server-error.js";
import { type HandlerDeps, unary } from "./handlers.js";
import { type ServerIdentity, servedBy } from "./identity.js";
import { invokeUnary } from "./local-call.js";
import type { MethodRegistry } from "./method-registry.js";

export interface BatchDeps extends HandlerDeps {
  registry: MethodRegistry;
  identity: ServerIdentity;
  /** Most items one batch may carry. */
  maxItems?: number;
}

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
        invokeUnary(method, bytes, {
          metadata: context.metadata,
          peer: context.peer,
          signal: context.signal,
        }),
      ),
    );
    return { results, servedBy: servedBy(deps.identity) };
  });
}
