import type {
  handleClientStreamingCall,
  handleUnaryCall,
  ServerReadableStream,
  sendUnaryData,
} from "@grpc/grpc-js";
import { type CallContext, callContext } from "./call-context.js";
import type { CallTracker } from "./call-tracker.js";
import { toServiceError } from "./to-status.js";

/** Turns async functions into grpc-js handlers: one place for errors, cancellation and counting. */
export interface HandlerDeps {
  tracker: CallTracker;
  log: (message: string) => void;
}

export function unary<Req, Res>(
  deps: HandlerDeps,
  fn: (request: Req, context: CallContext) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    settle(deps, callback, () => fn(call.request, callContext(call)));
  };
}

export function clientStream<Req, Res>(
  deps: HandlerDeps,
  fn: (requests: AsyncIterable<Req>, context: CallContext) => Promise<Res>,
): handleClientStreamingCall<Req, Res> {
  return (call: ServerReadableStream<Req, Res>, callback) => {
    settle(deps, callback, () => fn(call, callContext(call)));
  };
}

function settle<Res>(deps: HandlerDeps, callback: sendUnaryData<Res>, run: () => Promise<Res>): void {
  const done = deps.tracker.enter();
  run().then(
    (response) => {
      done();
      callback(null, response);
    },
    (error: unknown) => {
      done();
      callback(
        toServiceError(error, (e) => deps.log(`internal error: ${(e as Error)?.stack ?? e}`)),
        null,
      );
    },
  );
}
