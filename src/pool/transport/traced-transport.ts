import type { Span } from "@opentelemetry/api";
import type { MethodSpec } from "../../rpc/method-spec.js";
import { endRpcSpan, injectTraceContext, startClientSpan, tracingOn } from "../../tracing/spans.js";
import type { DuplexCall, ResolvedCall, Transport } from "./transport.js";

/**
 * A transport whose every call has a client span (child of the span active where it was made) and
 * carries the span's W3C `traceparent` in its metadata, so the server's span is its child. Each
 * attempt is a call of its own: a retry or a failover is a second client span.
 * createTransport wraps a transport in it only when tracing is on (an SDK is registered).
 */
export class TracedTransport implements Transport {
  constructor(readonly inner: Transport) {}

  get address(): string {
    return this.inner.address;
  }

  /** The call's span, and the call with its metadata copied and the trace context added. */
  #start(method: MethodSpec, call: ResolvedCall): { span: Span; call: ResolvedCall } {
    const { span, context } = startClientSpan(method.path, this.inner.address);
    const metadata = { ...call.metadata };
    injectTraceContext(context, metadata);
    return { span, call: { ...call, metadata } };
  }

  async unary<Req, Res>(method: MethodSpec<Req, Res>, request: Req, call: ResolvedCall): Promise<Res> {
    const traced = this.#start(method, call);
    try {
      const reply = await this.inner.unary(method, request, traced.call);
      endRpcSpan(traced.span);
      return reply;
    } catch (error) {
      endRpcSpan(traced.span, error);
      throw error;
    }
  }

  async clientStream<Req, Res>(
    method: MethodSpec<Req, Res>,
    requests: AsyncIterable<Req> | Iterable<Req>,
    call: ResolvedCall,
  ): Promise<Res> {
    const traced = this.#start(method, call);
    try {
      const reply = await this.inner.clientStream(method, requests, traced.call);
      endRpcSpan(traced.span);
      return reply;
    } catch (error) {
      endRpcSpan(traced.span, error);
      throw error;
    }
  }

  async *serverStream<Req, Res>(
    method: MethodSpec<Req, Res>,
    request: Req,
    call: ResolvedCall,
  ): AsyncGenerator<Res> {
    const traced = this.#start(method, call);
    let failure: unknown;
    try {
      yield* this.inner.serverStream(method, request, traced.call);
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      // A loop left early (break) is the caller's choice: the span ends without an error.
      endRpcSpan(traced.span, failure);
    }
  }

  duplex<Req, Res>(method: MethodSpec<Req, Res>, call: ResolvedCall): DuplexCall<Req, Res> {
    const traced = this.#start(method, call);
    const inner = this.inner.duplex(method, traced.call);
    const span = traced.span;
    let ended = false;
    const end = (error?: unknown) => {
      if (ended) return;
      ended = true;
      endRpcSpan(span, error);
    };
    return {
      send: (request) => inner.send(request),
      end: () => inner.end(),
      cancel: (error) => {
        inner.cancel(error);
        end(error ?? { code: 1, message: "cancelled" });
      },
      replies: (async function* () {
        let failure: unknown;
        try {
          yield* inner.replies;
        } catch (error) {
          failure = error;
          throw error;
        } finally {
          end(failure);
        }
      })(),
    };
  }

  close(): void {
    this.inner.close();
  }
}

/** The transport, traced when an SDK is registered in this process; as it is otherwise. */
export function tracedWhenOn(transport: Transport): Transport {
  return tracingOn() ? new TracedTransport(transport) : transport;
}
