import type {
  handleBidiStreamingCall,
  handleClientStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { InvokeRequest, InvokeResponse } from "../gen/rpcpool/pool/v1/batch.js";
import type { InfoResponse } from "../gen/rpcpool/pool/v1/info.js";
import {
  type AnyServiceDefinition,
  type GenericServiceDefinition,
  type MethodSpec,
  methodsOf,
  type RequestOf,
  type ResponseOf,
  serviceNameOf,
} from "../rpc/method-spec.js";
import { type HandlerDeps, hostedHandler } from "./handlers.js";
import type { DirectFunctions, DirectUnary } from "./method-registry.js";
import { checkedReplies } from "./reply-encoding.js";
import type {
  AnyMethodImplementation,
  ContextTools,
  ExtraReplyFields,
  ServerCallContext,
  ServiceImplementation,
} from "./service-implementation.js";
import type { SessionClassFactory } from "./session-context.js";

/**
 * The handlers a definition takes: typed from a generic one; untyped for a record of MethodSpecs,
 * or where the definition's type is not known (a list of services of any definitions).
 */
export type ImplementationOf<D extends AnyServiceDefinition> = 0 extends 1 & D
  ? Record<string, AnyMethodImplementation>
  : D extends GenericServiceDefinition
    ? ServiceImplementation<D>
    : Record<string, AnyMethodImplementation>;

/** A service a server hosts: the lesson's and any user's are all this. */
// biome-ignore lint/suspicious/noExplicitAny: a list of services of different definitions
export interface HostedService<D extends AnyServiceDefinition = any> {
  /**
   * Its methods: ts-proto's generic definition (`XxxServiceDefinition`; it says each method's kind
   * and whether it is idempotent, and names the service for health and reflection), or a record of
   * MethodSpecs (e.g. with a faster codec swapped in).
   */
  definition: D;
  /**
   * A handler for every method, as plain functions (ServiceImplementation); or a function of the
   * server's tools that returns them. A method without one refuses to start the server.
   */
  implementation?: ImplementationOf<D> | ((tools: ServiceTools) => ImplementationOf<D>);
  /**
   * Hosts the service as a session class (docs/sessions.md): clients create its objects in a
   * session and call their methods, whose state lives on the server between calls until the
   * object is released. Given the server's tools, returns the factory of each object's methods.
   * A service with only this (no `implementation`) has no plain gRPC methods.
   */
  sessionClass?: (tools: ServiceTools) => SessionClassFactory;
  /** The service's .proto files (relative to includeDirs), for server reflection. */
  protoFiles?: string[];
  includeDirs?: string[];
}

/** The handlers of an implementation given as they are or by a factory of the server's tools. */
type HandlersOf<I> = I extends (tools: ServiceTools) => infer R ? R : I;

/**
 * A hosted service, its handlers typed by the definition, and checked more strictly than a
 * `ServiceImplementation` annotation can be: a reply with a field its message does not have
 * (`{ count, cuont }`) does not compile either.
 *
 *     export default defineService(WordsServiceDefinition, { async count(request) { ... } },
 *       { protoFiles: ["acme/words/v1/words.proto"], includeDirs: ["proto"] });
 */
export function defineService<
  D extends GenericServiceDefinition,
  I extends ServiceImplementation<D> | ((tools: ServiceTools) => ServiceImplementation<D>),
>(
  definition: D,
  implementation: I,
  reflection: { protoFiles?: string[]; includeDirs?: string[] } = {},
  // Empty unless a reply has fields its message does not: then the call lacks this argument.
  ..._exact: [ExtraReplyFields<D, HandlersOf<I>>] extends [never]
    ? []
    : [replyFieldsNotInTheMessage: `in ${ExtraReplyFields<D, HandlersOf<I>> & string}`]
): HostedService<D> {
  return { definition, implementation: implementation as unknown as ImplementationOf<D>, ...reflection };
}

/** What a hosted service gets from the server it runs in (its handlers find most of it on their context too). */
export interface ServiceTools extends ContextTools {
  /** What rpcpool.pool.v1.InfoService/Info answers now (the calling call is not counted in flight). */
  info(): InfoResponse;
  /** rpcpool.pool.v1.BatchService/Invoke, to serve it under another name too. */
  batch(request: InvokeRequest, context: ServerCallContext): Promise<InvokeResponse>;
}

/** grpc-js handlers for every method of a generic definition: what the framework's own services are. */
export type ServiceHandlers<D extends GenericServiceDefinition> = {
  [K in keyof D["methods"] & string]: D["methods"][K]["requestStream"] extends true
    ? D["methods"][K]["responseStream"] extends true
      ? handleBidiStreamingCall<RequestOf<D, K>, ResponseOf<D, K>>
      : handleClientStreamingCall<RequestOf<D, K>, ResponseOf<D, K>>
    : D["methods"][K]["responseStream"] extends true
      ? handleServerStreamingCall<RequestOf<D, K>, ResponseOf<D, K>>
      : handleUnaryCall<RequestOf<D, K>, ResponseOf<D, K>>;
};

/** One of the framework's own services: grpc-js handlers as they are, no implementation to check. */
export interface FrameworkService {
  definition: AnyServiceDefinition;
  handlers: UntypedServiceImplementation;
}

/** A hosted service ready to add to a grpc-js server. */
export interface ResolvedService {
  name: string;
  methods: Record<string, MethodSpec>;
  implementation: UntypedServiceImplementation;
  /** A hosted service's unary functions as they are, for batch items (method-registry.ts). */
  direct?: DirectFunctions;
}

export function resolveFramework(service: FrameworkService): ResolvedService {
  return {
    name: serviceNameOf(service.definition),
    methods: methodsOf(service.definition),
    implementation: service.handlers,
  };
}

/**
 * A service's plain functions as grpc-js handlers, each by its method's kind; its replies filled
 * with proto defaults, and one that cannot be encoded logged with the method and the field.
 * Throws (the server does not start) when a method has no handler or a handler no method.
 */
export function resolveService(
  service: HostedService,
  tools: ServiceTools,
  deps: HandlerDeps,
): ResolvedService {
  const name = serviceNameOf(service.definition);
  if (!service.implementation) throw new TypeError(`${name}: a hosted service needs an implementation`);
  const implementation: Record<string, unknown> =
    typeof service.implementation === "function" ? service.implementation(tools) : service.implementation;
  const methods = checkedReplies(methodsOf(service.definition) as Record<string, MethodSpec>, deps.log);
  const handlerOf = (key: string, spec: MethodSpec) =>
    implementation[key] ?? (spec.originalName ? implementation[spec.originalName] : undefined);
  const missing = Object.entries(methods)
    .filter(([key, spec]) => typeof handlerOf(key, spec) !== "function")
    .map(([, spec]) => spec.path.slice(1));
  if (missing.length > 0) {
    throw new TypeError(
      `${name}: no handler for ${missing.join(", ")} (every method of the definition needs one)`,
    );
  }
  const known = new Set(Object.values(methods).flatMap((spec) => [spec.name, spec.originalName]));
  const unknown = Object.keys(implementation).filter((key) => !known.has(key));
  if (unknown.length > 0) {
    throw new TypeError(`${name}: handlers for methods the definition does not have: ${unknown.join(", ")}`);
  }
  const handlers: UntypedServiceImplementation = {};
  const functions: DirectFunctions["functions"] = {};
  for (const [key, spec] of Object.entries(methods)) {
    // Bound: a handler written as a method of an object (or class) keeps its `this`.
    const handler = (handlerOf(key, spec) as AnyMethodImplementation).bind(implementation);
    handlers[key] = hostedHandler(deps, spec, handler);
    if (!spec.requestStream && !spec.responseStream) functions[key] = handler as DirectUnary["fn"];
  }
  const direct = deps.tools ? { functions, tools: deps.tools, clients: deps.clients } : undefined;
  return { name, methods, implementation: handlers, direct };
}
