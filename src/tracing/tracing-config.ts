/**
 * Whether tracing is wanted, and how, read from the standard OTEL_* variables alone (the same ones
 * every OpenTelemetry SDK reads): nothing of it is an rpcpool option. Pure: it loads no SDK.
 */
export type TraceProtocol = "http/json" | "http/protobuf";

export interface TracingConfig {
  /** The one exporter rpcpool has: OTLP over HTTP to a collector (Jaeger, Tempo, the OTel Collector). */
  exporter: "otlp";
  protocol: TraceProtocol;
  serviceName: string;
}

/**
 * Tracing is on only when an exporter is configured: OTEL_TRACES_EXPORTER=otlp, or an OTLP
 * endpoint is given. Otherwise (the default, and with OTEL_SDK_DISABLED=true
 * or OTEL_TRACES_EXPORTER=none) it is off, and the SDK is never loaded: an unset OTEL_TRACES_EXPORTER
 * means "otlp" to the specification, but a program that sends spans to localhost:4318 uninvited
 * would cost every user for nothing.
 */
export function tracingConfig(
  env: Readonly<Record<string, string | undefined>>,
  defaultServiceName: string,
): TracingConfig | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return undefined;
  const named = (env.OTEL_TRACES_EXPORTER ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== "");
  if (named.includes("none")) return undefined;
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  // "console" is not offered: it prints spans on stdout, where the CLI's results and JSON go.
  if (named.some((name) => name !== "otlp")) {
    throw new TracingConfigError(`OTEL_TRACES_EXPORTER="${env.OTEL_TRACES_EXPORTER}": otlp or none`);
  }
  if (named.length === 0 && !endpoint) return undefined;
  const exporter = "otlp";
  const protocolName = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || "")
    .trim()
    .toLowerCase();
  // The specification's default is http/protobuf.
  const protocol = protocolName === "" ? "http/protobuf" : protocolName;
  if (protocol !== "http/json" && protocol !== "http/protobuf") {
    throw new TracingConfigError(
      `OTEL_EXPORTER_OTLP_PROTOCOL="${protocolName}": rpcpool sends http/json or http/protobuf (use a collector's HTTP port, 4318)`,
    );
  }
  return { exporter, protocol, serviceName: env.OTEL_SERVICE_NAME?.trim() || defaultServiceName };
}

/** An OTEL_* variable rpcpool cannot follow: the program stops with it rather than trace nothing. */
export class TracingConfigError extends Error {
  override name = "TracingConfigError";
}

/** A running tracer provider: its spans exported in batches until `shutdown` flushes the rest. */
export interface Tracing {
  /** Exports every span ended so far. */
  flush(): Promise<void>;
  /** Exports every span ended so far and stops: the program's last step (CLI run end, server drain). */
  shutdown(): Promise<void>;
}
