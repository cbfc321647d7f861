import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { MethodDefinition, Server, UntypedServiceImplementation } from "@grpc/grpc-js";
import type * as ProtoLoader from "@grpc/proto-loader";
import type * as Reflection from "@grpc/reflection";

/**
 * The packages reflection needs, loaded on its first call: proto-loader and protobufjs alone took
 * 26 ms of every server's start (docs/performance.md, "The embedded default's start").
 */
function reflectionPackages() {
  const require = createRequire(import.meta.url);
  return {
    loadSync: (require("@grpc/proto-loader") as typeof ProtoLoader).loadSync,
    ReflectionService: (require("@grpc/reflection") as typeof Reflection).ReflectionService,
    // The .proto of grpc.health.v1 that grpc-health-check ships (src/host/health.ts serves it).
    healthProtoPath: join(
      dirname(require.resolve("grpc-health-check/package.json")),
      "proto/health/v1/health.proto",
    ),
  };
}

/** The framework's own .proto files, relative to protoRoot(). */
const frameworkProtoFiles = [
  "rpcpool/pool/v1/info.proto",
  "rpcpool/pool/v1/batch.proto",
  "rpcpool/pool/v1/session.proto",
  "rpcpool/pool/v1/store.proto",
  "rpcpool/pool/v1/stats.proto",
];

/**
 * The proto/ folder shipped with the package (the contract, for reflection and other languages),
 * found upwards from this module whether it runs from src/ or dist/src/.
 */
export function protoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "proto");
    if (existsSync(join(candidate, frameworkProtoFiles[0]!))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error("proto/ folder not found beside the rpcpool package");
    dir = parent;
  }
}

/** One version of the reflection service as its library would add it to a server. */
interface Added {
  method: MethodDefinition<unknown, unknown>;
  handler: UntypedServiceImplementation[string];
}

const versions = ["v1", "v1alpha"] as const;
const methodName = "ServerReflectionInfo";

/**
 * Server reflection (grpc.reflection.v1 and v1alpha) for the framework's services, health, and the
 * services' own .proto files, so grpcurl and friends can list and call them without the files.
 *
 * Built on the first reflection call, not at start: parsing every .proto took a quarter of a
 * server's start-up CPU, and most servers are never asked. The methods are added at once with
 * codecs that load the real ones when first used.
 */
export function addReflection(server: Server, protoFiles: string[] = [], includeDirs: string[] = []): void {
  let built: Record<(typeof versions)[number], Added> | undefined;
  const build = () => {
    if (built) return built;
    const { loadSync, ReflectionService, healthProtoPath } = reflectionPackages();
    const definition = loadSync([...new Set([...frameworkProtoFiles, healthProtoPath, ...protoFiles])], {
      includeDirs: [...new Set([protoRoot(), ...includeDirs])],
      keepCase: true,
    });
    built = addedBy(new ReflectionService(definition));
    return built;
  };
  for (const version of versions) {
    const real = () => build()[version].method;
    const method: MethodDefinition<unknown, unknown> = {
      path: `/grpc.reflection.${version}.ServerReflection/${methodName}`,
      requestStream: true,
      responseStream: true,
      requestSerialize: (value) => real().requestSerialize(value),
      requestDeserialize: (bytes) => real().requestDeserialize(bytes),
      responseSerialize: (value) => real().responseSerialize(value),
      responseDeserialize: (bytes) => real().responseDeserialize(bytes),
    };
    server.addService(
      { [methodName]: method },
      {
        [methodName]: ((call: unknown) =>
          (build()[version].handler as (call: unknown) => void)(call)) as never,
      },
    );
  }
}

/** What the library's `addToServer` adds, per version: taken from a stand-in server. */
function addedBy(service: Reflection.ReflectionService): Record<(typeof versions)[number], Added> {
  const added: Partial<Record<(typeof versions)[number], Added>> = {};
  const standIn = {
    addService(
      methods: Record<string, MethodDefinition<unknown, unknown>>,
      impl: UntypedServiceImplementation,
    ) {
      const method = methods[methodName]!;
      const version = versions.find((v) => method.path.startsWith(`/grpc.reflection.${v}.`));
      if (version) added[version] = { method, handler: impl[methodName]! };
    },
  };
  service.addToServer(standIn as unknown as Server);
  if (!added.v1 || !added.v1alpha)
    throw new Error("the reflection library added other services than expected");
  return added as Record<(typeof versions)[number], Added>;
}
