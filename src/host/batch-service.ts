import { EventEmitter } from "node:events";
import { type ServerUnaryCall, type ServiceError, status } from "@grpc/grpc-js";
import type { BatchServiceServer, InvokeResult } from "../gen/rpcpool/compute/v1/batch.js";
import { type HandlerDeps, unary } from "./handlers.js";
import { type ServerIdentity, servedBy } from "./identity.js";
import type { MethodRegistry, RegisteredMethod } from "./method-registry.js";
import { ServerError } from "./server-error.js";

export interface BatchDeps extends HandlerDeps {
  registry: MethodRegistry;
  identity: ServerIdentity;
  /** Most items one batch may carry. */
  maxItems?: number;
}

/**
 * rpcpool.compute.v1.BatchService: runs each item through the method's own handler, as if it had
 * been called alone (same validation, same worker threads, same errors), so batching needs
 * nothing from the service's author.
 */
export function batchService(deps: BatchDeps): BatchServiceServer {
  const maxItems = deps.maxItems ?? 100_000;
  return {
    invoke: unary(deps, async (request, context) => {
      const method = deps.registry.get(request.method);
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
    }),
  };
}

function invokeOne(
  method: RegisteredMethod,
  bytes: Buffer,
  metadata: ServerUnaryCall<unknown, unknown>["metadata"],
  peer: string,
  signal: AbortSignal,
): Promise<InvokeResult> {
  let request: unknown;
  try {
    request = method.definition.requestDeserialize(bytes);
  } catch (error) {
    return Promise.resolve({
      response: Buffer.alloc(0),
      code: status.INVALID_ARGUMENT,
      message: `bad request: ${(error as Error).message}`,
    });
  }
  // The handler sees the shape of a real unary call: request, metadata, peer, and cancellation.
  const call = Object.assign(new EventEmitter(), {
    request,
    metadata,
    cancelled: false,
    getPeer: () => peer,
    getDeadline: () => Number.POSITIVE_INFINITY,
    getPath: () => method.path,
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
        resolve({
          response: Buffer.alloc(0),
          code: e.code ?? status.UNKNOWN,
          message: e.details ?? e.message ?? "",
        });
      } else resolve({ response: method.definition.responseSerialize(value), code: status.OK, message: "" });
    });
  });
}
