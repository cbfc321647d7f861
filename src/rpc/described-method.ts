import {
  create,
  createFileRegistry,
  type DescMethod,
  type DescService,
  type FileRegistry,
  fromBinary,
  fromJson,
  type JsonValue,
  type Message,
  toBinary,
  toJsonString,
} from "@bufbuild/protobuf";
import { FileDescriptorSetSchema, MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { normalizedFiles } from "./descriptor-files.js";
import type { Idempotency, MethodSpec } from "./method-spec.js";

/**
 * A method known only from its descriptors (server reflection or .proto files read at run time),
 * not from generated code: @bufbuild/protobuf's registry gives its messages' binary codec and
 * the proto3 JSON mapping, and `spec` is the MethodSpec the pool and the transport call it with.
 */
export interface DescribedMethod {
  readonly desc: DescMethod;
  readonly registry: FileRegistry;
  readonly spec: MethodSpec<Message, Message>;
  /** A request from its proto3 JSON (a parsed JSON value); throws naming the field at fault. */
  requestFromJson(json: JsonValue): Message;
  /** A reply as proto3 JSON text. */
  replyToJson(reply: Message, options?: { pretty?: boolean; emitDefaults?: boolean }): string;
}

/** A registry of the given serialized FileDescriptorProtos (each file with all it imports). */
export function registryOf(files: Iterable<Uint8Array>): FileRegistry {
  return createFileRegistry(create(FileDescriptorSetSchema, { file: normalizedFiles(files) }));
}

/** The services a registry describes, by full name. */
export function servicesOf(registry: FileRegistry): string[] {
  const names: string[] = [];
  for (const file of registry.files) for (const service of file.services) names.push(service.typeName);
  return names;
}

export function serviceOf(registry: FileRegistry, name: string): DescService | undefined {
  return registry.getService(name);
}

const idempotencyNames: Partial<Record<MethodOptions_IdempotencyLevel, Idempotency>> = {
  [MethodOptions_IdempotencyLevel.IDEMPOTENT]: "IDEMPOTENT",
  [MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS]: "NO_SIDE_EFFECTS",
};

// toBinary returns a Uint8Array over a buffer of its own: wrap it, do not copy it.
const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * The MethodSpec of a described method: path `/pkg.Service/Method`, the binary codec of its
 * messages, and the idempotency its proto declares (`option idempotency_level`), so that the
 * pool's failover and retry rules apply as they do to generated definitions.
 */
export function describedMethod(desc: DescMethod, registry: FileRegistry): DescribedMethod {
  const { input, output } = desc;
  const spec: MethodSpec<Message, Message> = {
    name: desc.name,
    path: `/${desc.parent.typeName}/${desc.name}`,
    originalName: desc.name,
    requestStream: desc.methodKind === "client_streaming" || desc.methodKind === "bidi_streaming",
    responseStream: desc.methodKind === "server_streaming" || desc.methodKind === "bidi_streaming",
    requestSerialize: (value) => asBuffer(toBinary(input, value)),
    requestDeserialize: (bytes) => fromBinary(input, bytes),
    responseSerialize: (value) => asBuffer(toBinary(output, value)),
    responseDeserialize: (bytes) => fromBinary(output, bytes),
    idempotency: idempotencyNames[desc.idempotency] ?? "UNKNOWN",
  };
  return {
    desc,
    registry,
    spec,
    requestFromJson: (json) => fromJson(input, json, { registry }),
    replyToJson: (reply, options = {}) =>
      toJsonString(output, reply, {
        registry,
        prettySpaces: options.pretty ? 2 : 0,
        alwaysEmitImplicit: options.emitDefaults ?? false,
      }),
  };
}
