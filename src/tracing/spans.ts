import { createRequire } from "node:module";
import type * as OpenTelemetry from "@opentelemetry/api";
import type { Attributes, Context, Span, TextMapGetter } from "@opentelemetry/api";

/**
 * rpcpool's spans, made through @opentelemetry/api alone. Every traced place asks tracingOn()
 * first and, without a registered SDK (startTracing did not start one), does nothing more: a call
 * pays one look-up of the API's global registry, and no span, even a no-op one, is made.
 *
 * The API itself is loaded on the first span, not with this module: a program that does not trace
 * (a tiny call) never reads it (about 3 ms of its start-up). It is the package's CommonJS build,
 * which is also what `import` finds outside a bundle; a bundle's own copy (the SDK's, in the CLI's)
 * shares its registry, keyed by a global symbol for every copy of the same major version.
 */
let loaded: typeof OpenTelemetry | undefined;
function otel(): typeof OpenTelemetry {
  loaded ??= createRequire(import.meta.url)("@opentelemetry/api") as typeof OpenTelemetry;
  return loaded;
}

/** Where @opentelemetry/api 1.x keeps its globals (its internal/global-utils): `trace` once a provider is registered. */
const registryKey = Symbol.for("opentelemetry.js.api.1");

/** Whether an SDK is registered in this process (by startTracing, or by the embedding program). */
export function tracingOn(): boolean {
  const registry = (globalThis as Record<symbol, { trace?: unknown } | undefined>)[registryKey];
  // `trace` is there from setGlobalTracerProvider (a proxy delegating to the SDK's provider) until disable().
  return registry?.trace !== undefined;
}

function tracer() {
  return otel().trace.getTracer("rpcpool");
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
    kind: otel().SpanKind.CLIENT,
    attributes: { ...rpcAttributes(path), "server.address": server },
  });
  return { span, context: otel().trace.setSpan(otel().context.active(), span) };
}

/** Writes the W3C `traceparent` (and `tracestate`) of `ctx` into gRPC metadata. */
export function injectTraceContext(ctx: Context, metadata: Record<string, string | Buffer>): void {
  otel().propagation.inject(ctx, metadata);
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
    ? otel().context.active()
    : otel().propagation.extract(otel().trace.deleteSpan(otel().context.active()), metadata, metadataGetter);
  const span = tracer().startSpan(
    rpcSpanName(path),
    { kind: otel().SpanKind.SERVER, attributes: { ...rpcAttributes(path), "client.address": peer } },
    parent,
  );
  return { span, context: otel().trace.setSpan(parent, span) };
}

/** A span of rpcpool's own work (a file, a part, a task on a worker thread), child of the active one. */
export function startInternalSpan(
  name: string,
  attributes: Attributes = {},
): { span: Span; context: Context } {
  const span = tracer().startSpan(name, { kind: otel().SpanKind.INTERNAL, attributes });
  return { span, context: otel().trace.setSpan(otel().context.active(), span) };
}

/**
 * The trace context of the active span as a plain record (`traceparent`, `tracestate`), to store
 * with work that runs later elsewhere (a queued task); undefined without tracing.
 */
export function traceCarrier(): Record<string, string> | undefined {
  if (!tracingOn()) return undefined;
  const carrier: Record<string, string> = {};
  otel().propagation.inject(otel().context.active(), carrier);
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
  const base = otel().trace.deleteSpan(otel().context.active());
  const parent =
    typeof carrier === "object" && carrier !== null
      ? otel().propagation.extract(base, carrier, recordGetter)
      : base;
  const span = tracer().startSpan(name, { kind: otel().SpanKind.CONSUMER, attributes }, parent);
  return { span, context: otel().trace.setSpan(parent, span) };
}

/** A span of work handed to a queue (its carrier is stored with it), child of the active one. */
export function startProducerSpan(name: string, attributes: Attributes = {}) {
  const span = tracer().startSpan(name, { kind: otel().SpanKind.PRODUCER, attributes });
  return { span, context: otel().trace.setSpan(otel().context.active(), span) };
}

/** Runs `fn` with `ctx` active (the context manager carries it through its awaits). */
export function withContext<T>(ctx: Context, fn: () => T): T {
  return otel().context.with(ctx, fn);
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
  span.setStatus({ code: otel().SpanStatusCode.ERROR, message });
  if (error instanceof Error) span.recordException(error);
}

/** Marks a span failed with a message (the program's exit code, say), without an exception. */
export function setSpanError(span: Span, message: string): void {
  span.setStatus({ code: otel().SpanStatusCode.ERROR, message });
}
