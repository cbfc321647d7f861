import { once } from "node:events";
import type {
  handleBidiStreamingCall,
  handleClientStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  ServerDuplexStream,
  ServerWritableStream,
  sendUnaryData,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { MethodSpec } from "../rpc/method-spec.js";
import { callContext, type HostCallContext } from "./call-context.js";
import type { CallTracker } from "./call-tracker.js";
import type { ClientScope } from "./client-key.js";
import type { AnyMethodImplementation, ContextTools, ServerCallContext } from "./service-implementation.js";
import { internalError, type StatusReply, toStatus } from "./to-status.js";

/**
 * Turns async functions into grpc-js handlers, with one settle path for every kind of call: what
 * the function throws becomes a status (see to-status.ts), cancellation reaches it through
 * `context.signal`, and the call is counted in flight until it settles (for Info and draining).
 */
export interface HandlerDeps {
  tracker: CallTracker;
  log: (message: string) => void;
  /** The server's tools, on every call's context (the framework's own handlers go without). */
  tools?: ContextTools;
  /** Where the handler's client is kept for the worker threads' turns (hosted services only). */
  clients?: ClientScope;
}

/** One request, one response. */
export function unary<Req, Res>(
  deps: HandlerDeps,
  fn: (request: Req, context: ServerCallContext) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const context = callContext(call, deps.tools, deps.clients);
    settle(deps, callback, context, () => fn(call.request, context));
  };
}

/** A stream of requests (read them with `for await`), one response. */
export function clientStream<Req, Res>(
  deps: HandlerDeps,
  fn: (requests: AsyncIterable<Req>, context: ServerCallContext) => Promise<Res>,
): handleClientStreamingCall<Req, Res> {
  return (call, callback) => {
    const context = callContext(call, deps.tools, deps.clients);
    settle(deps, callback, context, () => fn(call, context));
  };
}

/** One request, a stream of responses: whatever the function yields, with backpressure. */
export function serverStream<Req, Res>(
  deps: HandlerDeps,
  fn: (request: Req, context: ServerCallContext) => AsyncIterable<Res>,
): handleServerStreamingCall<Req, Res> {
  return (call) => {
    const context = callContext(call, deps.tools, deps.clients);
    stream(deps, call, context, () => fn(call.request, context));
  };
}

/** Streams both ways: the function reads the requests and yields the responses. */
export function bidiStream<Req, Res>(
  deps: HandlerDeps,
  fn: (requests: AsyncIterable<Req>, context: ServerCallContext) => AsyncIterable<Res>,
): handleBidiStreamingCall<Req, Res> {
  return (call) => {
    const context = callContext(call, deps.tools, deps.clients);
    // Not the stream's own iterator: reading the requests to their end would destroy the stream,
    // and with it the way back for the responses and the status.
    stream(deps, call, context, () => fn(call.iterator({ destroyOnReturn: false }), context));
  };
}

function settle<Res>(
  deps: HandlerDeps,
  callback: sendUnaryData<Res>,
  context: HostCallContext,
  run: () => Promise<Res>,
): void {
  const done = deps.tracker.enter();
  // Promise.resolve().then: a function that throws before its first await rejects like the rest.
  Promise.resolve()
    .then(() => context.within(run))
    .then(
      (response) => {
        done();
        context.end();
        lastResort(
          deps,
          () => callback(null, response),
          (status) => callback(status, null),
        );
      },
      (error: unknown) => {
        done();
        context.end(error);
        lastResort(
          deps,
          () => callback(toStatus(error, bugLogger(deps)), null),
          (status) => callback(status, null),
        );
      },
    );
}

function stream<Res>(
  deps: HandlerDeps,
  call: ServerWritableStream<unknown, Res> | ServerDuplexStream<unknown, Res>,
  context: HostCallContext,
  run: () => AsyncIterable<Res>,
): void {
  const done = deps.tracker.enter();
  context
    .within(async () => {
      for await (const response of run()) {
        // A cancelled call takes no more: leaving the loop ends the function's iteration.
        if (call.cancelled) return;
        if (!call.write(response)) await once(call, "drain", { signal: context.signal });
      }
    })
    .then(
      () => {
        done();
        context.end();
        lastResort(
          deps,
          () => call.end(),
          (status) => call.emit("error", status),
        );
      },
      (error: unknown) => {
        done();
        context.end(error);
        // grpc-js sends an 'error' event's status as the call's status.
        const send = (status: StatusReply) => call.emit("error", status);
        lastResort(deps, () => send(toStatus(error, bugLogger(deps))), send);
      },
    );
}

/**
 * The last resort of the path that answers a call: whatever throws there (a reply grpc-js cannot
 * serialize, trailers it refuses, a bug of ours) is logged and the call answered INTERNAL, once
 * more in a try. Nothing thrown here may reach the process: a rejection nobody catches would stop
 * the server, and a pool would retry the call on the next server and stop that one too.
 */
function lastResort(deps: HandlerDeps, answer: () => void, fail: (status: StatusReply) => void): void {
  try {
    answer();
  } catch (error) {
    bugLogger(deps)(error);
    try {
      fail(internalError());
    } catch (again) {
      bugLogger(deps)(again);
    }
  }
}

const bugLogger = (deps: HandlerDeps) => (error: unknown) =>
  deps.log(`internal error: ${(error as Error)?.stack ?? error}`);

/** A service's plain function as the grpc-js handler of its method's kind (the spec says which). */
export function hostedHandler(
  deps: HandlerDeps,
  spec: MethodSpec,
  fn: AnyMethodImplementation,
): UntypedServiceImplementation[string] {
  const call = fn;
  if (spec.requestStream) {
    return spec.responseStream
      ? bidiStream(deps, (requests, context) => call(requests, context) as AsyncIterable<unknown>)
      : clientStream(deps, (requests, context) => call(requests, context) as Promise<unknown>);
  }
  return spec.responseStream
    ? serverStream(deps, (request, context) => call(request, context) as AsyncIterable<unknown>)
    : unary(deps, (request, context) => call(request, context) as Promise<unknown>);
}
