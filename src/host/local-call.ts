import { EventEmitter } from "node:events";
import { Readable } from "node:stream";
import {
  Metadata,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import type { InvokeResult } from "../gen/rpcpool/pool/v1/batch.js";
import { ServerError } from "../rpc/server-error.js";
import { decodeStatus, statusDetailsKey } from "../rpc/status-details.js";
import type { CallStats } from "./call-stats.js";
import type { CallTracker } from "./call-tracker.js";
import type { DirectUnary, MethodRegistry, UnaryMethod } from "./method-registry.js";
import type { ServerCallContext } from "./service-implementation.js";
import { internalErrorDetails, toStatus } from "./to-status.js";

const empty = Buffer.alloc(0);

/** A call run in-process, as its handler sees it: cancelling it is emitting "cancelled". */
export type LocalCall = EventEmitter & { cancelled: boolean };

/** Where an in-process call comes from: the caller's metadata and peer, and its cancellation. */
export interface LocalCallContext {
  metadata?: Metadata;
  peer: string;
  signal?: AbortSignal;
  /**
   * Instead of a signal: the set the call is in while it runs, for a caller that cancels many
   * calls itself with one listener (a batch: a listener per item made adding them quadratic).
   */
  running?: Set<LocalCall>;
}

/**
 * Runs a hosted method's own handler in this process, as if a client had called it (same
 * validation, same worker threads, same errors): the request messages are given as their proto
 * bytes, the reply comes back as bytes with its status. Unary methods take one message;
 * client-streaming ones take the stream's messages in order. Used by the queue worker (src/queue)
 * and StoreService's Keep and Reduce, so none needs anything from a service's author.
 */
export function invokeLocal(
  registry: MethodRegistry,
  path: string,
  requests: Buffer[],
  context: LocalCallContext,
): Promise<InvokeResult> {
  const unary = registry.unary(path);
  if (unary) {
    if (requests.length !== 1) {
      return Promise.resolve(failure(status.INVALID_ARGUMENT, `${path} takes one request message`));
    }
    return invokeUnary(unary, requests[0]!, context);
  }
  const stream = registry.clientStream(path);
  if (!stream) return Promise.resolve(failure(status.UNIMPLEMENTED, `no method ${path} on this server`));
  let messages: unknown[];
  try {
    messages = requests.map((bytes) => stream.spec.requestDeserialize(bytes));
  } catch (error) {
    return Promise.resolve(failure(status.INVALID_ARGUMENT, `bad request: ${(error as Error).message}`));
  }
  const call = Object.assign(Readable.from(messages), callShape(stream.spec.path, context));
  return settle(stream.spec, call, context, (done) =>
    stream.handler(call as unknown as ServerReadableStream<unknown, unknown>, done),
  );
}

/** One unary call of `method` with the request's bytes (what a batch item is). */
export function invokeUnary(
  method: UnaryMethod,
  bytes: Buffer,
  context: LocalCallContext,
): Promise<InvokeResult> {
  const request = decodeRequest(method, bytes);
  if (request instanceof BadRequest) return Promise.resolve(request.result);
  // A class, not an emitter with the call's parts assigned: a batch makes one per item, and eight
  // own properties and four closures each were a measurable share of a tiny item's cost.
  const call = new LocalUnaryCall(request, method.spec.path, context);
  return settle(method.spec, call, context, (done) =>
    method.handler(call as unknown as ServerUnaryCall<unknown, unknown>, done),
  );
}

/** What a direct item reports to: calls in flight (Info, draining), per-method stats, the log. */
export interface DirectDeps {
  tracker: CallTracker;
  stats?: CallStats;
  log: (message: string) => void;
  /** When the batch began (Date.now()): each item's span starts there, as its metrics do. */
  startUnixMs?: number;
}

/**
 * One unary call of `method` straight through its plain function, with a context the caller
 * shares between many items (a batch's): decode, await the function, encode. It settles as
 * `invokeUnary` does through the grpc-js handler (counted in flight and in the method's stats,
 * an error a status with its code, message and details, a bug INTERNAL and logged), without the
 * call object, the context, the promise chain and the callbacks per item that path makes.
 */
export async function invokeDirect(
  method: UnaryMethod,
  direct: DirectUnary,
  bytes: Buffer,
  context: ServerCallContext,
  deps: DirectDeps,
): Promise<InvokeResult> {
  const request = decodeRequest(method, bytes);
  if (request instanceof BadRequest) return request.result;
  const done = deps.tracker.enter();
  const end = deps.stats?.begin(method.spec.path, deps.startUnixMs);
  let value: unknown;
  try {
    value = await direct.fn(request, context);
  } catch (error) {
    done();
    const reply = toStatus(error, bugLogger(deps));
    end?.(reply.code);
    return refusal(reply.code, reply.details, reply.metadata);
  }
  done();
  let response: Buffer;
  try {
    response = method.spec.responseSerialize(value);
  } catch (error) {
    // A reply that cannot be encoded is a bug of the handler's (reply-encoding.ts logged which field).
    bugLogger(deps)(error);
    end?.(status.INTERNAL);
    return failure(status.INTERNAL, internalErrorDetails);
  }
  end?.(status.OK);
  return { response, code: status.OK, message: "", statusDetails: empty };
}

const bugLogger = (deps: DirectDeps) => (error: unknown) =>
  deps.log(`internal error: ${(error as Error)?.stack ?? error}`);

/** The parts of a grpc-js server call a handler may look at: metadata, peer, deadline, path. */
function callShape(path: string, context: LocalCallContext) {
  return {
    metadata: context.metadata ?? new Metadata(),
    cancelled: false,
    getPeer: () => context.peer,
    getDeadline: () => Number.POSITIVE_INFINITY,
    getPath: () => path,
    sendMetadata: () => {},
    // Its span is a child of the span active where it runs (call-context.ts): the batch's, the task's.
    inProcess: true,
  };
}

/** A unary call run in-process: what a grpc-js ServerUnaryCall gives a handler (callShape's parts). */
class LocalUnaryCall extends EventEmitter {
  readonly metadata: Metadata;
  cancelled = false;
  readonly inProcess = true;
  readonly #peer: string;
  readonly #path: string;

  constructor(
    readonly request: unknown,
    path: string,
    context: LocalCallContext,
  ) {
    super();
    this.metadata = context.metadata ?? new Metadata();
    this.#peer = context.peer;
    this.#path = path;
  }

  getPeer(): string {
    return this.#peer;
  }

  getDeadline(): number {
    return Number.POSITIVE_INFINITY;
  }

  getPath(): string {
    return this.#path;
  }

  sendMetadata(): void {}
}

function settle(
  spec: UnaryMethod["spec"],
  call: LocalCall,
  { signal, running }: LocalCallContext,
  run: (done: (error: unknown, value: unknown) => void) => void,
): Promise<InvokeResult> {
  // The handler hears of cancellation the way grpc-js tells it: a "cancelled" event.
  const onAbort = () => {
    call.cancelled = true;
    call.emit("cancelled");
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  running?.add(call);
  return new Promise<InvokeResult>((resolve) => {
    run((error, value) => {
      signal?.removeEventListener("abort", onAbort);
      running?.delete(call);
      if (error) {
        const e = error as Partial<ServiceError>;
        resolve(refusal(e.code ?? status.UNKNOWN, e.details ?? e.message ?? "", e.metadata));
      } else {
        resolve({
          response: spec.responseSerialize(value),
          code: status.OK,
          message: "",
          statusDetails: empty,
        });
      }
    });
  });
}

function failure(code: status, message: string): InvokeResult {
  return { response: empty, code, message, statusDetails: empty };
}

/** A refused call's result: its code and message, and the standard details its metadata carries. */
function refusal(code: status, message: string, metadata?: Metadata): InvokeResult {
  const details = metadata?.get(statusDetailsKey)[0];
  return { response: empty, code, message, statusDetails: details instanceof Buffer ? details : empty };
}

/** A request whose bytes do not decode: INVALID_ARGUMENT, as grpc-js answers a bad message. */
class BadRequest {
  constructor(readonly result: InvokeResult) {}
}

function decodeRequest(method: UnaryMethod, bytes: Buffer): unknown {
  try {
    return method.spec.requestDeserialize(bytes);
  } catch (error) {
    return new BadRequest(failure(status.INVALID_ARGUMENT, `bad request: ${(error as Error).message}`));
  }
}

/**
 * The same call for a caller that wants the reply itself: its bytes, or the refusal rethrown as a
 * ServerError with its code, message and standard details (StoreService's Keep and Reduce).
 */
export async function invokeForReply(
  registry: MethodRegistry,
  path: string,
  requests: Buffer[],
  context: LocalCallContext,
): Promise<Buffer> {
  const result = await invokeLocal(registry, path, requests, context);
  if (result.code === status.OK) return result.response;
  const details = result.statusDetails.byteLength > 0 ? decodeStatus(result.statusDetails).details : {};
  throw new ServerError(result.code, result.message, details);
}
