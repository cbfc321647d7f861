import { type Tracing, tracingConfig } from "./tracing-config.js";

export type { Tracing } from "./tracing-config.js";

/**
 * Starts tracing when the OTEL_* variables configure an exporter (see tracing-config.ts), and
 * registers the SDK as the process's OpenTelemetry provider, context manager (AsyncLocalStorage)
 * and W3C propagator. Otherwise it returns undefined and loads nothing: the SDK and exporters are
 * imported here on demand, so a program that does not trace never reads them (tracing.test.ts
 * checks), and the spans rpcpool makes through @opentelemetry/api alone are no-ops.
 * Throws a TracingConfigError for variables it cannot follow (an unknown protocol or exporter).
 */
export async function startTracing(
  env: Readonly<Record<string, string | undefined>>,
  defaultServiceName: string,
): Promise<Tracing | undefined> {
  const config = tracingConfig(env, defaultServiceName);
  if (!config) return undefined;
  const { registerTracing } = await import("./tracing-sdk.js");
  return registerTracing(config);
}
