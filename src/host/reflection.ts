import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Server } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { protoPath as healthProtoPath } from "grpc-health-check";

/** The framework's own .proto files, relative to protoRoot(). */
const frameworkProtoFiles = [
  "rpcpool/pool/v1/info.proto",
  "rpcpool/pool/v1/batch.proto",
  "rpcpool/pool/v1/session.proto",
  "rpcpool/pool/v1/store.proto",
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

/**
 * Server reflection (grpc.reflection.v1 and v1alpha) for the framework's services, health, and the
 * services' own .proto files, so grpcurl and friends can list and call them without the files.
 */
export function addReflection(server: Server, protoFiles: string[] = [], includeDirs: string[] = []): void {
  const definition = loadSync([...new Set([...frameworkProtoFiles, healthProtoPath, ...protoFiles])], {
    includeDirs: [...new Set([protoRoot(), ...includeDirs])],
    keepCase: true,
  });
  new ReflectionService(definition).addToServer(server);
}
