import type { MethodDefinition } from "@grpc/grpc-js";

/**
 * A ts-proto grpc-js service definition (e.g. `StatsServiceService`): method name to its path,
 * streaming flags and (de)serializers, with the message types in the serializers' signatures.
 */
// biome-ignore lint/suspicious/noExplicitAny: serializers are contravariant in the request type, so only `any` accepts every generated definition
export type ServiceDefinitionOf = Record<string, MethodDefinition<any, any>>;

/** Names of the unary methods of a service. */
export type UnaryMethodName<D extends ServiceDefinitionOf> = {
  [K in keyof D]: D[K] extends { requestStream: false; responseStream: false } ? K : never;
}[keyof D] &
  string;

export type RequestOf<D extends ServiceDefinitionOf, K extends keyof D> = Parameters<
  D[K]["requestSerialize"]
>[0];

export type ResponseOf<D extends ServiceDefinitionOf, K extends keyof D> = ReturnType<
  D[K]["responseDeserialize"]
>;
