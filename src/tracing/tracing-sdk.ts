import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, NodeTracerProvider, type SpanExporter } from "@opentelemetry/sdk-trace-node";
import type { Tracing, TracingConfig } from "./tracing-config.js";

/**
 * The OpenTelemetry SDK, loaded only by startTracing when an exporter is configured. The exporters
 * and the batch processor read the rest of the standard variables themselves:
 * OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces) or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, the headers
 * and timeouts, and OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE.
 */
export async function registerTracing(config: TracingConfig): Promise<Tracing> {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": config.serviceName }),
    spanProcessors: [new BatchSpanProcessor(await exporterOf(config))],
  });
  provider.register();
  return {
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/** Each protocol's exporter is its own package: only the one asked for is loaded. */
async function exporterOf(config: TracingConfig): Promise<SpanExporter> {
  const module: ExporterModule =
    config.protocol === "http/json"
      ? await import("@opentelemetry/exporter-trace-otlp-http")
      : await import("@opentelemetry/exporter-trace-otlp-proto");
  // A CommonJS package imported from the bundled client has its exports under `default`.
  const Exporter = module.OTLPTraceExporter ?? module.default?.OTLPTraceExporter;
  if (!Exporter) throw new Error(`no OTLPTraceExporter for ${config.protocol}`);
  return new Exporter();
}

type ExporterClass = new () => SpanExporter;
interface ExporterModule {
  OTLPTraceExporter?: ExporterClass;
  default?: { OTLPTraceExporter?: ExporterClass };
}
