import { existsSync } from "node:fs";
import type { FileRegistry } from "@bufbuild/protobuf";
import { type DuplexCaller, ReflectionClient } from "../pool/reflection-client.js";
import { ClientError } from "../rpc/client-error.js";
import { type DescribedMethod, describedMethod, registryOf, servicesOf } from "../rpc/described-method.js";
import { Status as status } from "../rpc/grpc-status.js";
import { UsageError } from "./run-program.js";

/** Where a method's descriptors come from: the server's reflection, or .proto files. */
export interface MethodSource {
  /** The server to ask over grpc.reflection.v1 (and whose address to name in messages). */
  server: DuplexCaller & { address: string };
  /** --proto: .proto files to read instead of asking the server. */
  protoFiles?: string[];
  /** -I: folders their imports are found in. */
  includeDirs?: string[];
  /** Said after an unknown service (e.g. that the embedded local servers host the lesson only). */
  hint?: string;
}

/** `pkg.Service/Method` (also `/pkg.Service/Method` and `pkg.Service.Method`, as grpcurl takes). */
export function parseMethodName(text: string): { service: string; method: string } {
  const trimmed = text.replace(/^\//, "");
  const slash = trimmed.lastIndexOf("/");
  const cut = slash >= 0 ? slash : trimmed.lastIndexOf(".");
  const service = trimmed.slice(0, cut);
  const method = trimmed.slice(cut + 1);
  if (cut <= 0 || method === "" || /[\s/]/.test(service) || /[\s/.]/.test(method)) {
    throw new UsageError(`"${text}" is not SERVICE/METHOD, e.g. acme.stats.v1.StatsService/Describe`);
  }
  return { service, method };
}

/**
 * The method's descriptors, from the server's reflection or from --proto files. An unknown
 * service or method is a usage error that lists what there is, closest first.
 */
export async function lookUpMethod(name: string, source: MethodSource): Promise<DescribedMethod> {
  const { service, method } = parseMethodName(name);
  const registry = source.protoFiles?.length
    ? await registryOfProtoFiles(source.protoFiles, source.includeDirs ?? [])
    : await reflectedRegistry(service, source.server);
  const where = source.protoFiles?.length
    ? `the .proto files (${source.protoFiles.join(", ")})`
    : `the server at ${source.server.address}`;
  const desc = registry?.getService(service);
  if (!registry || !desc) {
    const offered =
      registry && source.protoFiles?.length ? servicesOf(registry) : await listServices(source.server);
    const hint = source.hint ? ` (${source.hint})` : "";
    throw new UsageError(
      `${where} has no service ${service}; ${offers(service, offered, "services")}${hint}`,
    );
  }
  const found = desc.methods.find((m) => m.name === method);
  if (!found) {
    const offered = desc.methods.map((m) => m.name);
    throw new UsageError(`${service} has no method ${method}; ${offers(method, offered, "methods")}`);
  }
  return describedMethod(found, registry);
}

/** The registry of the file that defines `service` and its imports, or undefined when the server does not know it. */
async function reflectedRegistry(
  service: string,
  server: MethodSource["server"],
): Promise<FileRegistry | undefined> {
  const reflection = new ReflectionClient(server);
  try {
    const files = await reflection.filesFor(service);
    return files && registryOf(files.values());
  } catch (error) {
    throw noReflection(error, server.address);
  } finally {
    reflection.close();
  }
}

async function listServices(server: MethodSource["server"]): Promise<string[]> {
  const reflection = new ReflectionClient(server);
  try {
    return await reflection.listServices();
  } catch (error) {
    throw noReflection(error, server.address);
  } finally {
    reflection.close();
  }
}

/** A server without reflection: say how to call it all the same. */
function noReflection(error: unknown, address: string): unknown {
  if (error instanceof ClientError && error.code === status.UNIMPLEMENTED) {
    return new ClientError(
      status.UNIMPLEMENTED,
      `the server at ${address} does not serve reflection (grpc.reflection.v1): give the method's .proto with --proto FILE [-I DIR]`,
    );
  }
  return error;
}

/**
 * .proto files compiled to descriptors at run time by protobufjs, through @grpc/proto-loader (a
 * dependency already, and what the server's own reflection is built on): each of its definitions
 * carries the serialized FileDescriptorProtos of its file and imports. Loaded only when asked:
 * protobufjs is large and a command that reflects never needs it.
 */
async function registryOfProtoFiles(files: string[], includeDirs: string[]): Promise<FileRegistry> {
  for (const file of files) {
    if (!existsSync(file) && !includeDirs.some((dir) => existsSync(`${dir}/${file}`))) {
      throw new UsageError(`--proto: no such file: ${file}`);
    }
  }
  // A CommonJS module: bundled, its exports may come as the default export only.
  const loader = (await import("@grpc/proto-loader")) as typeof import("@grpc/proto-loader") & {
    default?: typeof import("@grpc/proto-loader");
  };
  const loadSync = loader.loadSync ?? loader.default!.loadSync;
  let definition: ReturnType<typeof loadSync>;
  try {
    // The working directory last, as protoc without -I: `--proto proto/x/v1/x.proto`, a path as
    // a person types it, is found there without proto-loader's "not found in any of the include
    // paths" warning on stderr.
    const dirs = includeDirs.includes(".") ? includeDirs : [...includeDirs, "."];
    definition = loadSync(files, { includeDirs: dirs, keepCase: true });
  } catch (error) {
    throw new UsageError(`--proto: ${(error as Error).message}`);
  }
  const byName = new Map<string, Uint8Array>();
  for (const entry of Object.values(definition)) {
    for (const bytes of (entry as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos ?? []) {
      byName.set(bytes.toString("latin1"), bytes);
    }
  }
  return registryOf(byName.values());
}

/** "it offers: a, b" with the names closest to `wanted` first (and "did you mean" when one is close). */
function offers(wanted: string, offered: string[], what: string): string {
  if (offered.length === 0) return `it offers no ${what}`;
  const short = (name: string) => name.slice(name.lastIndexOf(".") + 1).toLowerCase();
  const distance = (name: string) =>
    Math.min(
      editDistance(wanted.toLowerCase(), name.toLowerCase()),
      editDistance(short(wanted), short(name)),
    );
  const sorted = [...offered].sort((a, b) => distance(a) - distance(b) || a.localeCompare(b));
  const close = sorted.filter((name) => distance(name) <= Math.max(1, Math.floor(short(wanted).length / 5)));
  const mean = close.length > 0 ? `did you mean ${close.slice(0, 3).join(" or ")}? ` : "";
  return `${mean}it offers: ${sorted.join(", ")}`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The method a `call` or `map` command names, looked up on `server` as its options say. */
export function commandMethod(
  name: string,
  server: MethodSource["server"],
  options: { proto?: string[]; importPath?: string[]; servers?: unknown },
): Promise<DescribedMethod> {
  return lookUpMethod(name, {
    server,
    protoFiles: options.proto,
    includeDirs: options.importPath,
    hint:
      options.servers === undefined
        ? "the embedded local servers host the lesson's services: give --servers"
        : undefined,
  });
}
