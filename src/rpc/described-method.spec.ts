import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { loadSync } from "@grpc/proto-loader";
import { describe, expect, it } from "vitest";
import { describedMethod, registryOf } from "./described-method.js";

const include = join(import.meta.dirname, "..", "..", "examples", "stats-service", "proto");

/** The example's proto as protobufjs compiles it (what `--proto` and @grpc/reflection give). */
function statsRegistry() {
  const definition = loadSync("acme/stats/v1/stats.proto", { includeDirs: [include], keepCase: true });
  const files = new Set<Uint8Array>();
  for (const entry of Object.values(definition)) {
    for (const bytes of (entry as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos ?? [])
      files.add(bytes);
  }
  return registryOf(files);
}

describe("describedMethod", () => {
  it("gives a MethodSpec with the path, the proto's idempotency, and the binary codec", () => {
    const registry = statsRegistry();
    const service = registry.getService("acme.stats.v1.StatsService")!;
    const [describe_, countPrimes] = ["Describe", "CountPrimes"].map((name) =>
      describedMethod(service.methods.find((m) => m.name === name)!, registry),
    );
    expect(describe_!.spec).toMatchObject({
      path: "/acme.stats.v1.StatsService/Describe",
      requestStream: false,
      responseStream: false,
      idempotency: "NO_SIDE_EFFECTS",
    });
    // No idempotency_level: a call is retried elsewhere only if the caller says it may be.
    expect(countPrimes!.spec.idempotency).toBe("UNKNOWN");
    const request = describe_!.requestFromJson({ values: [1, 2.5] });
    const bytes = describe_!.spec.requestSerialize(request);
    expect(describe_!.spec.requestDeserialize(bytes)).toMatchObject({ values: [1, 2.5] });
  });

  it("prints replies in proto3 JSON: lowerCamelCase names, defaults left out unless asked", () => {
    const registry = statsRegistry();
    const method = describedMethod(registry.getService("acme.stats.v1.StatsService")!.methods[0]!, registry);
    const reply = method.spec.responseDeserialize(
      method.spec.responseSerialize(create(method.desc.output, { count: 3, mean: 1.5 })),
    );
    expect(method.replyToJson(reply)).toBe('{"count":3,"mean":1.5}');
    expect(JSON.parse(method.replyToJson(reply, { emitDefaults: true }))).toEqual({
      count: 3,
      mean: 1.5,
      min: 0,
      max: 0,
      stddev: 0,
      server: "",
    });
    expect(method.replyToJson(reply, { pretty: true })).toBe('{\n  "count": 3,\n  "mean": 1.5\n}');
  });
});
