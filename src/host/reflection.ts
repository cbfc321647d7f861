import type { Server } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { protoFiles, protoRoot } from "./proto-files.js";

/** Server reflection, so grpcurl and friends can list and call our services without the .proto files. */
export function addReflection(
  server: Server,
  extraProtoFiles: string[] = [],
  extraIncludeDirs: string[] = [],
): void {
  const definition = loadSync([...protoFiles, healthProtoPath, ...extraProtoFiles], {
    includeDirs: [protoRoot(), ...extraIncludeDirs],
    keepCase: true,
  });
  new ReflectionService(definition).addToServer(server);
}
