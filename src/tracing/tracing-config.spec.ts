import { describe, expect, it } from "vitest";
import { TracingConfigError, tracingConfig } from "./tracing-config.js";

describe("tracingConfig", () => {
  it("is off without an exporter: no variable, none, or the SDK disabled", () => {
    expect(tracingConfig({}, "rpcpool")).toBeUndefined();
    expect(
      tracingConfig({ OTEL_SERVICE_NAME: "x", OTEL_BSP_SCHEDULE_DELAY: "10" }, "rpcpool"),
    ).toBeUndefined();
    expect(
      tracingConfig(
        { OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" },
        "rpcpool",
      ),
    ).toBeUndefined();
    expect(
      tracingConfig({ OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }, "rpcpool"),
    ).toBeUndefined();
  });

  it("is on with an endpoint or OTEL_TRACES_EXPORTER=otlp; http/protobuf by default", () => {
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }, "rpcpool")).toEqual({
      exporter: "otlp",
      protocol: "http/protobuf",
      serviceName: "rpcpool",
    });
    expect(
      tracingConfig(
        { OTEL_TRACES_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_SERVICE_NAME: "edge" },
        "rpcpool-server",
      ),
    ).toEqual({ exporter: "otlp", protocol: "http/json", serviceName: "edge" });
    // The traces-only variables win over the general ones.
    expect(
      tracingConfig(
        {
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/v1/traces",
          OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
          OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
        },
        "rpcpool",
      )?.protocol,
    ).toBe("http/json");
  });

  it("refuses what it cannot follow rather than trace nothing", () => {
    expect(() => tracingConfig({ OTEL_TRACES_EXPORTER: "zipkin" }, "rpcpool")).toThrow(TracingConfigError);
    expect(() => tracingConfig({ OTEL_TRACES_EXPORTER: "console" }, "rpcpool")).toThrow(/otlp or none/);
    expect(() =>
      tracingConfig(
        { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4317", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" },
        "rpcpool",
      ),
    ).toThrow(/http\/json or http\/protobuf/);
  });
});
