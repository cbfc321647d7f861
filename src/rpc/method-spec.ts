import type { BinaryWriter } from "@bufbuild/protobuf/wire";
import type { MethodDefinition } from "@grpc/grpc-js";

/**
 * What a method's proto says of calling it twice (`option idempotency_level`): IDEMPOTENT and
 * NO_SIDE_EFFECTS may be retried on another server when a server fails; UNKNOWN only if asked.
 */
export type Idempotency = "IDEMPOTENT" | "NO_SIDE_EFFECTS" | "UNKNOWN";

/** A message's codec as ts-proto generates it (its `MessageFns`). */
export interface MessageCodec<T> {
  encode(message: T, writer?: BinaryWriter): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
  /** The whole message from a partial one, proto defaults for what is left out (ts-proto's). */
  // biome-ignore lint/suspicious/noExplicitAny: each generated file has its own DeepPartial type
  fromPartial?(object: any): T;
}

/** One method of a ts-proto generic definition (`outputServices=generic-definitions`). */
export interface GenericMethodDefinition<Req, Res> {
  name: string;
  requestType: MessageCodec<Req>;
  requestStream: boolean;
  responseType: MessageCodec<Res>;
  responseStream: boolean;
  options: { idempotencyLevel?: string };
}

/** A ts-proto generic service definition, e.g. `StatsServiceDefinition`: it carries method options. */
export interface GenericServiceDefinition {
  name: string;
  fullName: string;
  // biome-ignore lint/suspicious/noExplicitAny: message types differ per method; only `any` accepts every generated definition
  methods: Record<string, GenericMethodDefinition<any, any>>;
}

/** A ts-proto grpc-js service definition, e.g. `StatsServiceService`. */
// biome-ignore lint/suspicious/noExplicitAny: serializers are contravariant in the request type, so only `any` accepts every generated definition
export type GrpcServiceDefinition = Record<string, MethodDefinition<any, any>>;

/** Either form ts-proto generates; the generic one also tells which methods are idempotent. */
export type AnyServiceDefinition = GrpcServiceDefinition | GenericServiceDefinition;

/** A method as rpcpool uses it on both sides: grpc-js's definition plus its name and idempotency. */
// biome-ignore lint/suspicious/noExplicitAny: defaults for call sites that do not care about message types
export interface MethodSpec<Req = any, Res = any> extends MethodDefinition<Req, Res> {
  /** Its key in the definition, e.g. "describe". */
  name: string;
  idempotency: Idempotency;
  /**
   * The request's bytes in parts to be written one after the other (a small head and the bulk),
   * when the method can say so without copying the bulk into one buffer (see src/wire).
   */
  requestSerializeParts?(value: Req): Buffer[];
  /**
   * The whole reply from one with fields left out (proto defaults for them): what a host applies to
   * a handler's reply before encoding it, so that a missing field never goes out as NaN or
   * "undefined". ts-proto's `fromPartial` for a generic definition.
   */
  // biome-ignore lint/suspicious/noExplicitAny: a reply of any depth of partiality
  responseFromPartial?(value: any): Res;
}

export function isGenericDefinition(
  definition: AnyServiceDefinition,
): definition is GenericServiceDefinition {
  return (
    typeof (definition as GenericServiceDefinition).fullName === "string" &&
    typeof (definition as GenericServiceDefinition).methods === "object"
  );
}

// The generated encoders return a Uint8Array over a buffer of their own: wrap it, do not copy it.
const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * A request serializer that can also write its message into another message's writer (ts-proto's
 * `encode(message, writer)`): a coalesced batch encodes its items straight into its own message,
 * not each alone and then copied. Carried by the serializer function itself, not by the
 * MethodSpec beside it, so a spec whose codec is swapped (`{ ...spec, requestSerialize }`) never
 * keeps an encoder that no longer matches its serializer.
 */
export type WritingSerializer<Req> = ((value: Req) => Buffer) & {
  encodeInto?(value: Req, writer: BinaryWriter): void;
};

/** How to write `spec`'s request into a writer, when its serializer says (see WritingSerializer). */
export function requestEncoderOf<Req>(
  spec: Pick<MethodSpec<Req>, "requestSerialize">,
): ((value: Req, writer: BinaryWriter) => void) | undefined {
  return (spec.requestSerialize as WritingSerializer<Req>).encodeInto;
}

function writingSerializer<T>(codec: MessageCodec<T>): WritingSerializer<T> {
  const serialize: WritingSerializer<T> = (value) => asBuffer(codec.encode(value).finish());
  serialize.encodeInto = (value, writer) => {
    codec.encode(value, writer);
  };
  return serialize;
}

function idempotencyOf(level: string | undefined): Idempotency {
  return level === "IDEMPOTENT" || level === "NO_SIDE_EFFECTS" ? level : "UNKNOWN";
}

/**
 * The methods of a service definition in either form, by their key. A grpc-js definition does not
 * carry the proto's options: its methods are UNKNOWN unless `idempotency` (by path) says more, as
 * a server's Info does for what it hosts.
 */
export function methodsOf<D extends AnyServiceDefinition>(
  definition: D,
  idempotency: (path: string) => Idempotency | undefined = () => undefined,
): MethodSpecs<D> {
  const methods: Record<string, MethodSpec> = {};
  if (isGenericDefinition(definition)) {
    for (const [name, m] of Object.entries(definition.methods)) {
      const path = `/${definition.fullName}/${m.name}`;
      methods[name] = {
        name,
        path,
        originalName: m.name,
        requestStream: m.requestStream,
        responseStream: m.responseStream,
        requestSerialize: writingSerializer(m.requestType),
        requestDeserialize: (bytes) => m.requestType.decode(bytes),
        responseSerialize: (value) => asBuffer(m.responseType.encode(value).finish()),
        responseDeserialize: (bytes) => m.responseType.decode(bytes),
        idempotency: idempotencyOf(m.options?.idempotencyLevel),
        ...(m.responseType.fromPartial && { responseFromPartial: m.responseType.fromPartial }),
      };
    }
    return methods as MethodSpecs<D>;
  }
  for (const [name, m] of Object.entries(definition as GrpcServiceDefinition)) {
    // A record of MethodSpecs (this function's own output, perhaps with codecs swapped) keeps its own.
    const own = (m as Partial<MethodSpec>).idempotency;
    methods[name] = { ...m, name, idempotency: idempotency(m.path) ?? own ?? "UNKNOWN" };
  }
  return methods as MethodSpecs<D>;
}

/** The methods of a definition by key, typed by their messages. */
export type MethodSpecs<D> =
  string extends MethodName<D>
    ? Record<string, MethodSpec>
    : { [K in MethodName<D>]: MethodSpec<RequestOf<D, K>, ResponseOf<D, K>> };

/** The full service name of a definition in either form, e.g. "acme.stats.v1.StatsService". */
export function serviceNameOf(definition: AnyServiceDefinition): string {
  if (isGenericDefinition(definition)) return definition.fullName;
  const first = Object.values(definition)[0];
  return first ? first.path.slice(1, first.path.lastIndexOf("/")) : "";
}

/**
 * The grpc-js form of a generic definition, the shape ts-proto's `outputServices=grpc-js` has
 * (`XxxServiceService`), for grpc-js servers and clients. rpcpool generates only the generic form
 * (it carries the proto's options) and derives this one, so that a client needs no grpc-js.
 */
export type GrpcFormOf<D extends GenericServiceDefinition> = {
  [K in keyof D["methods"] & string]: MethodDefinition<RequestOf<D, K>, ResponseOf<D, K>> & {
    path: string;
    requestStream: D["methods"][K]["requestStream"];
    responseStream: D["methods"][K]["responseStream"];
  };
};

export function grpcServiceOf<D extends GenericServiceDefinition>(definition: D): GrpcFormOf<D> {
  const form: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [key, spec] of Object.entries(methodsOf(definition) as Record<string, MethodSpec>)) {
    // grpc-js copies a method's fields onto a client function: only its own fields may be there.
    const {
      name: _name,
      idempotency: _idempotency,
      requestSerializeParts: _parts,
      responseFromPartial: _fromPartial,
      ...grpc
    } = spec;
    form[key] = grpc;
  }
  return form as GrpcFormOf<D>;
}

/** A grpc-js definition for grpc-js's Server.addService, from either form. */
export function grpcDefinitionOf(definition: AnyServiceDefinition): GrpcServiceDefinition {
  return isGenericDefinition(definition) ? (methodsOf(definition) as GrpcServiceDefinition) : definition;
}

type MethodsOf<D> = D extends GenericServiceDefinition ? D["methods"] : D;

/** The method keys of a service definition (either form). */
export type MethodName<D> = keyof MethodsOf<D> & string;

/** The keys of its unary methods. */
export type UnaryMethodName<D> = {
  [K in MethodName<D>]: MethodsOf<D>[K] extends { requestStream: false; responseStream: false } ? K : never;
}[MethodName<D>];

/** The keys of its client-streaming methods (a stream of requests, one response). */
export type ClientStreamMethodName<D> = {
  [K in MethodName<D>]: MethodsOf<D>[K] extends { requestStream: true; responseStream: false } ? K : never;
}[MethodName<D>];

export type RequestOf<D, K extends MethodName<D>> =
  MethodsOf<D>[K] extends GenericMethodDefinition<infer Req, unknown>
    ? Req
    : MethodsOf<D>[K] extends { requestSerialize: (value: infer Req) => Buffer }
      ? Req
      : never;

export type ResponseOf<D, K extends MethodName<D>> =
  MethodsOf<D>[K] extends GenericMethodDefinition<unknown, infer Res>
    ? Res
    : MethodsOf<D>[K] extends { responseDeserialize: (bytes: Buffer) => infer Res }
      ? Res
      : never;
