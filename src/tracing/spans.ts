import {
  type Attributes,
  type Context,
  context,
  ProxyTracerProvider,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from "@opentelemetry/api";

/**
 * rpcpool's spans, made through @opentelemetry/api alone. Every traced place asks tracingOn()
 * first and, without a registered SDK (startTracing did not start one), does nothing more: a call
 * pays a few look-ups of the API's global provider (about 16 ns each), and no span, even a no-op
 * one, is made.
 */

/** The provider the API hands out when no SDK is registered (its own no-op singleton). */
const noProvider = new ProxyTracerProvider().getDelegate();

/** Whether an SDK is registered in this process (by startTracing, or by the embedding program). */
export function tracingOn(): boolean {
  return (trace.getTracerProvider() as ProxyTracerProvider).getDelegate?.() !== noProvider;
}

function tracer() {
  return trace.getTracer("rpcpool");
}

/** gRPC's attributes of a call by its path, "/package.Service/Method" (semantic conventions). */
function rpcAttributes(path: string): Attributes {
  const slash = path.lastIndexOf("/");
  return {
    "rpc.system": "grpc",
    "rpc.service": path.slice(1, slash),
    "rpc.method": path.slice(slash + 1),
  };
}

/** A span's name for a call: the path without its leading slash, as gRPC instrumentations name it. */
function rpcSpanName(path: string): string {
  return path.startsWith("/") ? path.slice(1) : path;
}

/** A client span of a call, child of the active span, and its context (for the call's metadata). */
export function startClientSpan(path: string, server: string): { span: Span; context: Context } {
  const span = tracer().startSpan(rpcSpanName(path), {
    kind: SpanKind.CLIENT,
    attributes: { ...rpcAttributes(path), "server.address": server },
  });
  return { span, context: trace.setSpan(context.active(), span) };
}

/** Writes the W3C `traceparent` (and `tracestate`) of `ctx` into gRPC metadata. */
export function injectTraceContext(ctx: Context, metadata: Record<string, string | Buffer>): void {
  propagation.inject(ctx, metadata);
}

/** Reads a `traceparent` from gRPC metadata (grpc-js's Metadata shape: `get` returns a list). */
const metadataGetter: TextMapGetter<{ get(key: string): unknown[]; getMap(): object }> = {
  get: (carrier, key) => {
    const value = carrier.get(key)[0];
    return typeof value === "string" ? value : undefined;
  },
  keys: (carrier) => Object.keys(carrier.getMap()),
};

/**
 * A server span of a call: child of the caller's `traceparent` in the metadata, or, for a call run
 * in-process (a batch item inside its Invoke, a queued task inside its run), of the span active
 * here. A call from the network never takes the active span: in a program that hosts servers in
 * its own process, a connection's events run in the context that started the server.
 */
export function startServerSpan(
  path: string,
  metadata: { get(key: string): unknown[]; getMap(): object },
  peer: string,
  inProcess: boolean,
): { span: Span; context: Context } {
  const parent = inProcess
    ? context.active()
    : propagation.extract(trace.deleteSpan(context.active()), metadata, metadataGetter);
  const span = tracer().startSpan(
    rpcSpanName(path),
    { kind: SpanKind.SERVER, attributes: { ...rpcAttributes(path), "client.address": peer } },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
}

/** A span of rpcpool's own work (a file, a part, a task on a worker thread), child of the active one. */
export function startInternalSpan(
  name: string,
  attributes: Attributes = {},
): { span: Span; context: Context } {
  const span = tracer().startSpan(name, { kind: SpanKind.INTERNAL, attributes });
  return { span, context: trace.setSpan(context.active(), span) };
}

/**
 * The trace context of the active span as a plain record (`traceparent`, `tracestate`), to store
 * with work that runs later elsewhere (a queued task); undefined without tracing.
 */
export function traceCarrier(): Record<string, string> | undefined {
  if (!tracingOn()) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return Object.keys(carrier).length > 0 ? carrier : undefined;
}

/** Reads a stored carrier: anything but a string value is ignored (it came from Redis: untrusted). */
const recordGetter: TextMapGetter<unknown> = {
  get: (carrier, key) => {
    const value = (carrier as Record<string, unknown>)[key];
    return typeof value === "string" ? value : undefined;
  },
  keys: (carrier) => Object.keys(carrier as object),
};

/**
 * A span of work taken from a queue: child of the span that submitted it (its stored carrier), or
 * the root of a trace of its own when it has none.
 */
export function startConsumerSpan(name: string, carrier: unknown, attributes: Attributes = {}) {
  const base = trace.deleteSpan(context.active());
  const parent =
    typeof carrier === "object" && carrier !== null ? propagation.extract(base, carrier, recordGetter) : base;
  const span = tracer().startSpan(name, { kind: SpanKind.CONSUMER, attributes }, parent);
  return { span, context: trace.setSpan(parent, span) };
}

/** A span of work handed to a queue (its carrier is stored with it), child of the active one. */
export function startProducerSpan(name: string, attributes: Attributes = {}) {
  const span = tracer().startSpan(name, { kind: SpanKind.PRODUCER, attributes });
  return { span, context: trace.setSpan(context.active(), span) };
}

/** Runs `fn` with `ctx` active (the context manager carries it through its awaits). */
export function withContext<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}

/**
 * Ends a call's span with its gRPC status code (an error's `code`, when it has a number there);
 * the status is ERROR for any failure, as the semantic conventions ask of a client, and for codes
 * that say the server failed on the server side.
 */
export function endRpcSpan(span: Span, error?: unknown, side: "client" | "server" = "client"): void {
  if (error === undefined) {
    span.setAttribute("rpc.grpc.status_code", 0);
  } else {
    const code = (error as { code?: unknown })?.code;
    if (typeof code === "number") span.setAttribute("rpc.grpc.status_code", code);
    const serverFault = typeof code !== "number" || [2, 4, 12, 13, 14, 15].includes(code);
    if (side === "client" || serverFault) failSpan(span, error);
  }
  span.end();
}

/** Ends a span of rpcpool's own work, failed when `error` is given. */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) failSpan(span, error);
  span.end();
}

function failSpan(span: Span, error: unknown): void {
  const message = (error as Error)?.message ?? String(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  if (error instanceof Error) span.recordException(error);
}

export { SpanStatusCode };
