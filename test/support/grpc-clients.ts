import { join } from "node:path";
import { credentials, loadPackageDefinition, makeClientConstructor, type ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { service as healthService } from "grpc-health-check";
import { root } from "./run-program.js";

/** grpc.health.v1 Check against a server; resolves the status name. */
export function healthCheck(address: string, serviceName = "", timeoutMs = 5000): Promise<string> {
  const Health = makeClientConstructor(healthService, "Health");
  const client = new Health(address, credentials.createInsecure()) as any;
  return new Promise((resolve, reject) => {
    client.check(
      { service: serviceName },
      { deadline: Date.now() + timeoutMs },
      (error: ServiceError | null, reply: any) => {
        client.close();
        if (error) reject(error);
        else resolve(reply.status);
      },
    );
  });
}

/** Lists the services a server reports through grpc.reflection.v1 (as grpcurl list does). */
export function reflectionList(address: string): Promise<string[]> {
  const definition = loadSync("grpc/reflection/v1/reflection.proto", {
    includeDirs: [join(root, "node_modules/@grpc/reflection/build/proto")],
  });
  const proto = loadPackageDefinition(definition) as any;
  const client = new proto.grpc.reflection.v1.ServerReflection(address, credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const call = client.serverReflectionInfo({ deadline: Date.now() + 5000 });
    call.on("data", (reply: any) => {
      resolve(reply.listServicesResponse.service.map((s: { name: string }) => s.name));
      call.end();
    });
    call.on("error", (error: Error) => {
      client.close();
      reject(error);
    });
    call.on("end", () => client.close());
    call.write({ listServices: "" });
  });
}
