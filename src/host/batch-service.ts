import { setImmediate } from "node:timers/promises";
import { type handleUnaryCall, status } from "@grpc/grpc-js";
import type { InvokeRequest, InvokeResponse, InvokeResult } from "../gen/rpcpool/pool/v1/batch.js";
import { ServerError } from "../rpc/server-error.js";
import { tracingOn } from "../tracing/spans.js";
import type { CallContext } from "./call-context.js";
import type { CallLimit } from "./call-limit.js";
import type { CallStats } from "./call-stats.js";
import { callClient } from "./client-key.js";
import { type HandlerDeps, unary } from "./handlers.js";
import { type ServerIdentity, servedBy } from "./identity.js";
import { invokeDirect, invokeUnary, type LocalCall } from "./local-call.js";
import type { DirectUnary, MethodRegistry } from "./method-registry.js";
import type { ServerObserver } from "./metrics/server-observer.js";
import type { ServerCallContext } from "./service-implementation.js";

export interface BatchDeps extends HandlerDeps {
  registry: MethodRegistry;
  identity: ServerIdentity;
  /** Most items one batch may carry (--max-batch-items). */
  maxItems?: number;
  /** The server's bounds on calls in flight: each item a batch runs counts as a call. */
  limit?: CallLimit;
  /** Metrics: each item counts as a call of its own method. */
  observer?: ServerObserver;
  /** StatsService's counts: an item run straight counts here as a call of its method. */
  stats?: CallStats;
}

export const defaultMaxBatchItems = 10_000;

/**
 * Items of one batch running at once: enough to keep every worker thread and a few hundred timers
 * busy, few enough that a cancelled batch stops in the time its running items take, whatever
 * the number still waiting (they never reach a queue).
 */
const itemsAtOnce = 256;

const empty = Buffer.alloc(0);

/**
 * rpcpool.pool.v1.BatchService/Invoke: runs each item through the method's own handler, as if it
 * had been called alone (same validation, same worker threads, same errors), so batching needs
 * nothing from the service's author. Each item keeps its status: its code, its message, and its
 * standard details (the serialized google.rpc.Status) when it failed with some.
 *
 * A hosted service's method is called straight (its plain function, the batch's one context
 * shared by every item: decode, await, encode), not as a grpc-js call of its own per item: that
 * path's call object, context, promise chain and callbacks were most of a tiny item's server CPU.
 * With tracing on, items go the handler's way, each with its span (the rare, costly case).
 */
export function batchHandler(deps: BatchDeps): handleUnaryCall<InvokeRequest, InvokeResponse> {
  return unary(deps, batchInvoke(deps));
}

/** The same as a plain function, for a service that serves it under another name too. */
export function batchInvoke(
  deps: BatchDeps,
): (request: InvokeRequest, context: CallContext) => Promise<InvokeResponse> {
  const maxItems = deps.maxItems ?? defaultMaxBatchItems;
  return async (request, context) => {
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
    const running = new Set<LocalCall>();
    const onAbort = () => {
      for (const call of running) {
        call.cancelled = true;
        call.emit("cancelled");
      }
    };
    signal.addEventListener("abort", onAbort, { once: true });
    // Metrics time each item from the batch's start to the item's end, as a call of its own is
    // timed from its headers: one clock read per item, not two (each is most of an item's cost).
    const meter = deps.observer?.batch(request.method);
    const from = meter ? performance.now() : 0;
    // Every item is the batch's client's (its metadata and peer): read once, not once per item.
    const client = deps.limit ? callClient(context.metadata, context.peer).client : undefined;
    // One context for every item: the items of a batch share its client, peer and cancellation.
    const itemContext = { metadata: context.metadata, peer: context.peer, running };
    const direct = method.direct && !tracingOn() ? method.direct : undefined;
    const shared = direct ? sharedContext(context, direct) : undefined;
    // Each item's stats span starts at the batch's start: one clock read per batch, not per item.
    const directDeps = direct && deps.stats ? { ...deps, startUnixMs: Date.now() } : deps;
    const invoke = (bytes: Buffer) =>
      direct
        ? invokeDirect(method, direct, bytes, shared!, directDeps)
        : invokeUnary(method, bytes, itemContext);
    let next = 0;
    const runItems = async () => {
      while (next < results.length && !signal.aborted) {
        const i = next++;
        const release = deps.limit ? deps.limit.enter(context.peer, client) : () => {};
        if (typeof release === "string") {
          results[i] = {
            response: empty,
            code: status.RESOURCE_EXHAUSTED,
            message: release,
            statusDetails: empty,
          };
          meter?.unary(status.RESOURCE_EXHAUSTED, 0);
          continue;
        }
        try {
          results[i] = await invoke(request.requests[i]!);
        } finally {
          release();
        }
        meter?.unary(results[i]!.code, (performance.now() - from) / 1000);
        // Items that settle at once chain as microtasks: a runner with another item to take lets
        // I/O in first, so health checks and other calls are answered while a large batch runs.
        // A runner whose item was the last it takes ends without that turn (a batch of up to
        // `itemsAtOnce` items, the coalesced kind, pays no timer per item).
        if (next < results.length) await setImmediate();
      }
    };
    const runAll = () => Promise.all(Array.from({ length: Math.min(itemsAtOnce, results.length) }, runItems));
    try {
      // The items' work on the worker threads is the batch's client's, at its priority (fair
      // turns): one scope for the batch, which every item's awaits inherit.
      await (direct?.clients
        ? direct.clients.run(callClient(context.metadata, context.peer), runAll)
        : runAll());
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
    signal.throwIfAborted();
    return { results, servedBy: servedBy(deps.identity) };
  };
}

/**
 * The context every item of a batch run straight sees: the batch's metadata, peer and
 * cancellation (its signal, made on first use), the server's tools, and no deadline of its own,
 * as an item run as a call had none (the client bounds each call's wait itself).
 */
function sharedContext(batch: CallContext, direct: DirectUnary): ServerCallContext {
  const { tools } = direct;
  return {
    get signal() {
      return batch.signal;
    },
    metadata: batch.metadata,
    peer: batch.peer,
    deadline: undefined,
    runOnWorker: tools.runOnWorker,
    store: tools.store,
    identity: tools.identity,
    log: tools.log,
    workers: tools.workers,
  };
}
