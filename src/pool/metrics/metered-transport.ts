import { ClientError } from "../../rpc/client-error.js";
import { Status } from "../../rpc/grpc-status.js";
import type { MethodSpec } from "../../rpc/method-spec.js";
import type { DuplexCall, ResolvedCall, Transport } from "../transport/transport.js";
import type { CallMeter, ClientObserver } from "./client-observer.js";

const batchPath = "/rpcpool.pool.v1.BatchService/Invoke";

const codeOf = (error: unknown) => (error instanceof ClientError ? error.code : Status.UNKNOWN);

/**
 * A transport whose calls are counted (grpc_client_* series): each call's start, messages, status
 * and time. A BatchService round trip also counts each item under its own method, so a call the
 * pool coalesced into a batch counts once, as the call the program made.
 */
export function meteredTransport(transport: Transport, observer: ClientObserver): Transport {
  const meter = (method: MethodSpec) =>
    observer.call(method.path, method.requestStream, method.responseStream);
  return {
    get address() {
      return transport.address;
    },
    async unary<Req, Res>(method: MethodSpec<Req, Res>, request: Req, call: ResolvedCall): Promise<Res> {
      const m = meter(method);
      const from = performance.now();
      m.sent();
      try {
        const reply = await transport.unary(method, request, call);
        m.received();
        m.end(Status.OK);
        if (method.path === batchPath) batchItems(observer, request, reply, undefined, from);
        return reply;
      } catch (error) {
        m.end(codeOf(error));
        if (method.path === batchPath) batchItems(observer, request, undefined, error, from);
        throw error;
      }
    },
    async clientStream<Req, Res>(
      method: MethodSpec<Req, Res>,
      requests: AsyncIterable<Req> | Iterable<Req>,
      call: ResolvedCall,
    ): Promise<Res> {
      const m = meter(method);
      try {
        const reply = await transport.clientStream(method, counted(requests, m), call);
        m.received();
        m.end(Status.OK);
        return reply;
      } catch (error) {
        m.end(codeOf(error));
        throw error;
      }
    },
    async *serverStream<Req, Res>(method: MethodSpec<Req, Res>, request: Req, call: ResolvedCall) {
      const m = meter(method);
      m.sent();
      yield* meteredReplies(transport.serverStream(method, request, call), m);
    },
    duplex<Req, Res>(method: MethodSpec<Req, Res>, call: ResolvedCall): DuplexCall<Req, Res> {
      const m = meter(method);
      const inner = transport.duplex(method, call);
      return {
        send: (request) => {
          m.sent();
          return inner.send(request);
        },
        end: () => inner.end(),
        cancel: (error) => {
          m.end(error?.code ?? Status.CANCELLED);
          inner.cancel(error);
        },
        replies: meteredReplies(inner.replies, m),
      };
    },
    close: () => transport.close(),
  };
}

/**
 * A stream's replies, each counted, and its status at the end: OK, the error's code, or CANCELLED
 * when the caller stopped reading (the meter keeps only the first end).
 */
async function* meteredReplies<Res>(replies: AsyncIterable<Res>, m: CallMeter): AsyncGenerator<Res> {
  try {
    for await (const reply of replies) {
      m.received();
      yield reply;
    }
    m.end(Status.OK);
  } catch (error) {
    m.end(codeOf(error));
    throw error;
  } finally {
    m.end(Status.CANCELLED);
  }
}

/** The requests as the transport reads them, each counted; a sync source stays sync (no extra ticks). */
function counted<Req>(
  requests: AsyncIterable<Req> | Iterable<Req>,
  m: CallMeter,
): AsyncIterable<Req> | Iterable<Req> {
  if (Symbol.asyncIterator in requests) {
    return (async function* () {
      for await (const request of requests) {
        m.sent();
        yield request;
      }
    })();
  }
  return (function* () {
    for (const request of requests) {
      m.sent();
      yield request;
    }
  })();
}

/** Each item of a batch under its own method: its own status, or the batch's when the batch failed. */
function batchItems(
  observer: ClientObserver,
  request: unknown,
  reply: unknown,
  error: unknown,
  from: number,
): void {
  const { method, requests } = request as { method?: string; requests?: unknown[] };
  if (!method || !requests) return;
  const seconds = (performance.now() - from) / 1000;
  const meter = observer.batch(method);
  const results = (reply as { results?: Array<{ code: number }> } | undefined)?.results;
  if (results && results.length === requests.length) {
    for (const result of results) meter.unary(result.code, seconds);
    return;
  }
  // A failed batch (or one whose reply the pool refuses as malformed) fails every item it carried.
  const code = results ? Status.INTERNAL : codeOf(error);
  for (let i = 0; i < requests.length; i++) meter.unary(code, seconds);
}
