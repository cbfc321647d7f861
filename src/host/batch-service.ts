import { EventEmitter } from "node:events";
import { setImmediate } from "node:timers/promises";
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
import type { CallLimit } from "./call-limit.js";
import { type HandlerDeps, unary } from "./handlers.js";
import { type ServerIdentity, servedBy } from "./identity.js";
import type { MethodRegistry, UnaryMethod } from "./method-registry.js";

export interface BatchDeps extends HandlerDeps {
  registry: MethodRegistry;
  identity: ServerIdentity;
  /** Most items one batch may carry (--max-batch-items). */
  maxItems?: number;
  /** The server's bounds on calls in flight: each item a batch runs counts as a call. */
  limit?: CallLimit;
}

export const defaultMaxBatchItems = 10_000;

/**
 * Items of one batch running at once: enough to keep every worker thread and a few hundred timers
 * busy, few enough that a cancelled batch stops in the time its running items take, whatever
 * the number still waiting (they never reach a queue).
 */
const itemsAtOnce = 256;

/** A fake unary call per item, cancelled through the batch's one abort listener. */
type ItemCall = EventEmitter & { cancelled: boolean };

const empty = Buffer.alloc(0);

/**
 * rpcpool.pool.v1.BatchService/Invoke: runs each item through the method's own handler, as if it
 * had been called alone (same validation, same worker threads, same errors), so batching needs
 * nothing from the service's author. Each item keeps its status: its code, its message, and its
 * standard details (the serialized google.rpc.Status) when it failed with some.
 */
export function batchHandler(deps: BatchDeps): handleUnaryCall<InvokeRequest, InvokeResponse> {
  const maxItems = deps.maxItems ?? defaultMaxBatchItems;
  return unary(deps, async (request: InvokeRequest, context) => {
    const method = deps.registry.unary(request.method);
    if (!method)
      throw new ServerError(status.UNIMPLEMENTED, `no unary method ${request.method} on this server`);
    if (request.requests.length > maxItems) {
      throw new ServerError(
        status.RESOURCE_EXHAUSTED,
        `a batch may carry at most ${maxItems} items (--max-batch-items); this one has ${request.requests.length}`,
      );
    }
    const { signal } = context;
    const results: InvokeResult[] = new Array(request.requests.length);
    // One listener for the whole batch: it cancels the items running, the rest never start.
    const running = new Set<ItemCall>();
    const onAbort = () => {
      for (const call of running) {
        call.cancelled = true;
        call.emit("cancelled");
      }
    };
    signal.addEventListener("abort", onAbort, { once: true });
    let next = 0;
    const runItems = async () => {
      while (next < results.length && !signal.aborted) {
        const i = next++;
        const release = deps.limit ? deps.limit.enter(context.peer) : () => {};
        if (typeof release === "string") {
          results[i] = {
            response: empty,
            code: status.RESOURCE_EXHAUSTED,
            message: release,
            statusDetails: empty,
          };
          continue;
        }
        try {
          results[i] = await invokeOne(method, request.requests[i]!, context.metadata, context.peer, running);
        } finally {
          release();
        }
        // Items that settle at once chain as microtasks: each runner lets I/O in between its items,
        // so health checks and other calls are answered while a large batch runs.
        await setImmediate();
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(itemsAtOnce, results.length) }, runItems));
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
    signal.throwIfAborted();
    return { results, servedBy: servedBy(deps.identity) };
  });
}

function invokeOne(
  method: UnaryMethod,
  bytes: Buffer,
  metadata: Metadata,
  peer: string,
  running: Set<ItemCall>,
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
  running.add(call);
  return new Promise<InvokeResult>((resolve) => {
    method.handler(call as unknown as ServerUnaryCall<unknown, unknown>, (error, value) => {
      running.delete(call);
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
