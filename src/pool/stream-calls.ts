import type { CallOptions } from "../rpc/call-options.js";
import { ClientError } from "../rpc/client-error.js";
import { Status as status } from "../rpc/grpc-status.js";
import type { GenericServiceDefinition, MethodName, MethodSpec } from "../rpc/method-spec.js";
import { ReplayableRequests } from "./replayable-requests.js";
import type { PoolServer } from "./server-connection.js";
import { StreamChannel } from "./stream-channel.js";
import type { TaskEngine } from "./task-engine.js";
import type { Run, RunSettings } from "./task-run.js";

type MethodsOf<D> = D extends GenericServiceDefinition ? D["methods"] : D;

/** The keys of a definition's server-streaming methods (one request, a stream of replies). */
export type ServerStreamMethodName<D> = {
  [K in MethodName<D>]: MethodsOf<D>[K] extends { requestStream: false; responseStream: true } ? K : never;
}[MethodName<D>];

/** The keys of its bidirectional-streaming methods. */
export type DuplexMethodName<D> = {
  [K in MethodName<D>]: MethodsOf<D>[K] extends { requestStream: true; responseStream: true } ? K : never;
}[MethodName<D>];

/** A duplex call through the pool: requests sent as the caller goes, replies read as they come. */
export interface PoolDuplexCall<Req, Res> {
  /** Sends one request; resolves when the call can take more (at once once the call has ended). */
  send(request: Req): Promise<void>;
  /** No more requests. */
  end(): void;
  /** Ends the call (the server is told); reading the replies then fails with CANCELLED. */
  cancel(): void;
  /** The replies; the loop ends with the call's status (an error throws). Leaving it early cancels the call. */
  readonly replies: AsyncIterable<Res>;
}

/** What a stream call needs of its service client: the engine, the run's settings, each attempt's call options. */
export interface StreamCallContext {
  engine: TaskEngine;
  settings: RunSettings;
  callOptions: (signal: AbortSignal) => CallOptions;
}

/**
 * A stream call is a run of one task on the least busy server, which lasts as long as the call
 * (the server counts it as busy). Its replies go through a channel to the caller, so the task may
 * fail over: a failure before the first reply runs it again elsewhere, as the method's idempotency
 * (or the caller's `idempotent`, `retries`) allows; after a reply it ends with its error, since a
 * second server would send those replies again. Requests are kept (ReplayableRequests) until the
 * first reply, for the next server; `retries: 0` keeps none.
 */
function startStream<Res>(
  context: StreamCallContext,
  attempt: (server: PoolServer, signal: AbortSignal, replies: StreamChannel<Res>) => Promise<void>,
  requests?: ReplayableRequests<unknown>,
): { run: Run<undefined, void>; replies: StreamChannel<Res> } {
  const replies = new StreamChannel<Res>();
  // Another attempt needs every request sent so far, and no reply given yet.
  const mayRetry = () => replies.pushed === 0 && (requests?.keeping ?? true);
  const settings: RunSettings = { ...context.settings, mayRetry };
  const run = context.engine.start<undefined, void>(
    (_, server, signal) => attempt(server, signal, replies),
    settings,
    (outcome) => replies.end(outcome.ok ? undefined : outcome.error),
  );
  void run.feed([undefined], 1);
  return { run, replies };
}

/** The replies to the caller; leaving the loop early cancels the call. */
async function* repliesOf<Res>(run: Run<undefined, void>, replies: StreamChannel<Res>): AsyncGenerator<Res> {
  try {
    yield* replies;
  } finally {
    if (!run.finished) run.abort(new ClientError(status.CANCELLED, "the caller stopped reading the replies"));
    replies.cancel();
  }
}

/**
 * Most requests of a one-shot source kept for another attempt: past them the call can no longer
 * move, and memory stays bounded. An array's requests are all kept (it holds them anyway).
 */
export const maxKeptRequests = 1024;

function replayable<Req>(requests: AsyncIterable<Req> | Iterable<Req>, context: StreamCallContext) {
  const limit = Array.isArray(requests) ? Number.POSITIVE_INFINITY : maxKeptRequests;
  return new ReplayableRequests(requests, context.settings.retries > 0, limit);
}

/** Starts when the caller first reads: a stream nobody reads holds no call. */
export async function* serverStreamCall<Req, Res>(
  context: StreamCallContext,
  method: MethodSpec<Req, Res>,
  request: Req,
): AsyncGenerator<Res> {
  const { run, replies } = startStream<Res>(context, async (server, signal, channel) => {
    for await (const reply of server.serverStream(method, request, context.callOptions(signal))) {
      await channel.push(reply);
    }
  });
  yield* repliesOf(run, replies);
}

export async function clientStreamCall<Req, Res>(
  context: StreamCallContext,
  method: MethodSpec<Req, Res>,
  requests: AsyncIterable<Req> | Iterable<Req>,
): Promise<Res> {
  const replay = replayable(requests, context);
  const { replies } = startStream<Res>(
    context,
    async (server, signal, channel) => {
      await channel.push(await server.clientStream(method, replay.attempt(), context.callOptions(signal)));
    },
    replay,
  );
  try {
    // The reply ends the run; the caller's signal or deadline ends it too.
    for await (const reply of replies) return reply;
    throw new ClientError(status.INTERNAL, `${method.path} ended without a reply`);
  } finally {
    replay.close();
  }
}

export function duplexCall<Req, Res>(
  context: StreamCallContext,
  method: MethodSpec<Req, Res>,
): PoolDuplexCall<Req, Res> {
  const sent = new StreamChannel<Req>();
  const replay = replayable(sent, context);
  const { run, replies } = startStream<Res>(
    context,
    async (server, signal, channel) => {
      const call = server.duplex(method, context.callOptions(signal));
      // Requests go out as the caller sends them, kept ones first; the replies are read meanwhile.
      void (async () => {
        for await (const request of replay.attempt()) {
          if (signal.aborted) return;
          await call.send(request);
        }
        call.end();
      })().catch((error) => call.cancel(ClientError.from(error)));
      for await (const reply of call.replies) {
        replay.release();
        await channel.push(reply);
      }
    },
    replay,
  );
  run.done.then(() => {
    sent.end();
    replay.close();
  });
  return {
    send: (request) => sent.push(request),
    end: () => sent.end(),
    cancel: () => run.abort(new ClientError(status.CANCELLED, "cancelled by the caller")),
    replies: repliesOf(run, replies),
  };
}
