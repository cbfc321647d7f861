import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import protobuf from "protobufjs";

/** A span as the collector received it, whichever protocol carried it (ids in hex). */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, unknown>;
}

/**
 * An OTLP/HTTP trace collector for tests: POST /v1/traces in http/json or http/protobuf (by its
 * content-type), every span kept in `spans`, and `protocols` saying which encodings came.
 */
export interface OtlpCollector {
  endpoint: string;
  spans: ReceivedSpan[];
  protocols: Set<string>;
  close(): Promise<void>;
}

// The part of opentelemetry/proto/collector/trace/v1 (and its imports) the tests read.
const { root } = protobuf.parse(`
syntax = "proto3";
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message Resource { repeated KeyValue attributes = 1; }
message ScopeSpans { repeated Span spans = 2; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; int32 kind = 6;
  repeated KeyValue attributes = 9;
}
message KeyValue { string key = 1; AnyValue value = 2; }
message AnyValue {
  oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; }
}
`);
const ExportRequest = root.lookupType("ExportTraceServiceRequest");

interface JsonKeyValue {
  key: string;
  value: Record<string, unknown>;
}
interface JsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: JsonKeyValue[];
}
interface JsonRequest {
  resourceSpans?: { resource?: { attributes?: JsonKeyValue[] }; scopeSpans?: { spans?: JsonSpan[] }[] }[];
}

export async function startOtlpCollector(): Promise<OtlpCollector> {
  const spans: ReceivedSpan[] = [];
  const protocols = new Set<string>();
  const server = createServer(async (request, response) => {
    const body = await readBody(request);
    if (request.method !== "POST" || request.url !== "/v1/traces") {
      response.writeHead(404).end();
      return;
    }
    const type = request.headers["content-type"] ?? "";
    let decoded: JsonRequest;
    if (type.startsWith("application/json")) {
      protocols.add("http/json");
      decoded = JSON.parse(body.toString("utf8"));
    } else if (type.startsWith("application/x-protobuf")) {
      protocols.add("http/protobuf");
      // As proto3 JSON: bytes in base64 (turned to hex below), enums as numbers, longs as strings.
      decoded = ExportRequest.toObject(ExportRequest.decode(body), {
        longs: String,
        bytes: String,
        enums: Number,
        defaults: false,
      }) as JsonRequest;
    } else {
      response.writeHead(415).end();
      return;
    }
    const hex = (id: string | undefined) => {
      if (!id) return "";
      // http/json carries ids as hex; protobufjs's toObject gives bytes as base64.
      return type.startsWith("application/json") ? id : Buffer.from(id, "base64").toString("hex");
    };
    for (const resourceSpans of decoded.resourceSpans ?? []) {
      const resource = attributesOf(resourceSpans.resource?.attributes);
      for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
        for (const span of scopeSpans.spans ?? []) {
          spans.push({
            service: String(resource["service.name"]),
            traceId: hex(span.traceId),
            spanId: hex(span.spanId),
            parentSpanId: hex(span.parentSpanId),
            name: span.name,
            kind: span.kind,
            attributes: attributesOf(span.attributes),
          });
        }
      }
    }
    response.writeHead(200, { "content-type": type }).end(type.startsWith("application/json") ? "{}" : "");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    protocols,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function attributesOf(list: JsonKeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) {
    out[key] = value.stringValue ?? value.intValue ?? value.doubleValue ?? value.boolValue;
  }
  return out;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
