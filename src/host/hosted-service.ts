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
import type { CallContext } from "./call-context.js";
import type { ServerIdentity } from "./identity.js";
import type { SessionClassFactory } from "./session-context.js";
import type { ValueStore } from "./value-store.js";
import type { RunOptions } from "./worker-pool.js";

/**
 * Handlers for every method of a generic definition, typed by its messages: what ts-proto's
 * grpc-js output calls `XxxServiceServer`.
 */
export type ServiceHandlers<D extends GenericServiceDefinition> = {
  [K in keyof D["methods"] & string]: D["methods"][K]["requestStream"] extends true
    ? D["methods"][K]["responseStream"] extends true
      ? handleBidiStreamingCall<RequestOf<D, K>, ResponseOf<D, K>>
      : handleClientStreamingCall<RequestOf<D, K>, ResponseOf<D, K>>
    : D["methods"][K]["responseStream"] extends true
      ? handleServerStreamingCall<RequestOf<D, K>, ResponseOf<D, K>>
      : handleUnaryCall<RequestOf<D, K>, ResponseOf<D, K>>;
};

/** A service a server hosts: the framework's own, the lesson's, and any user's are all this. */
export interface HostedService {
  /**
   * Its methods, as ts-proto generates them (the grpc-js form `XxxServiceService`, or the generic
   * `XxxServiceDefinition`, which also says which methods are idempotent), or as a record of
   * MethodSpecs (e.g. with a faster codec swapped in).
   */
  definition: AnyServiceDefinition;
  /** Full name, e.g. "acme.stats.v1.StatsService", for health; default: the definition's. */
  name?: string;
  /** Handlers by method key; or a function of the server's tools that returns them. */
  implementation?: UntypedServiceImplementation | ((tools: ServiceTools) => UntypedServiceImplementation);
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

/** What a hosted service gets from the server it runs in. */
export interface ServiceTools {
  /**
   * Wraps an async function as a unary handler. A thrown ServerError keeps its code and details,
   * an abort is CANCELLED, anything else is INTERNAL (a bug, logged); the call counts as in flight
   * until it settles (draining waits for it); `context.signal` aborts when the client cancels.
   */
  unary<Req, Res>(fn: (request: Req, context: CallContext) => Promise<Res>): handleUnaryCall<Req, Res>;
  /** The same for a stream of requests and one response. */
  clientStream<Req, Res>(
    fn: (requests: AsyncIterable<Req>, context: CallContext) => Promise<Res>,
  ): handleClientStreamingCall<Req, Res>;
  /** The same for one request and a stream of responses (what the function yields). */
  serverStream<Req, Res>(
    fn: (request: Req, context: CallContext) => AsyncIterable<Res>,
  ): handleServerStreamingCall<Req, Res>;
  /** The same for streams both ways. */
  bidiStream<Req, Res>(
    fn: (requests: AsyncIterable<Req>, context: CallContext) => AsyncIterable<Res>,
  ): handleBidiStreamingCall<Req, Res>;
  /**
   * Calls `exportName(...args)` of a module (a URL, e.g. `new URL("./work.js", import.meta.url)`,
   * or a path) on the server's worker threads; aborting the signal stops the worker running it.
   */
  runOnWorker<T>(
    module: string | URL,
    exportName: string,
    args?: unknown[],
    options?: AbortSignal | RunOptions,
  ): Promise<T>;
  /** Who this server is, for replies that say which server computed them (`server` is set once bound). */
  identity: ServerIdentity;
  /** Worker threads of the server: how much CPU work it runs at once. */
  workers: number;
  /** The server's log (stderr unless the server was given another). */
  log(message: string): void;
  /** What rpcpool.pool.v1.InfoService/Info answers now (the calling call is not counted in flight). */
  info(): InfoResponse;
  /** The handler of rpcpool.pool.v1.BatchService/Invoke, to serve it under another name too. */
  batch: handleUnaryCall<InvokeRequest, InvokeResponse>;
  /**
   * The server's value store (docs/collectives.md): `store.get(handle)` is the bytes a pool
   * broadcast, scattered or kept under that handle. A handle it does not hold throws
   * FAILED_PRECONDITION (VALUE_MISSING): let it propagate, and the pool puts the value and retries.
   */
  store: ValueStore;
}

/** A hosted service ready to add to a grpc-js server. */
export interface ResolvedService {
  name: string;
  methods: Record<string, MethodSpec>;
  implementation: UntypedServiceImplementation;
}

export function resolveService(service: HostedService, tools: ServiceTools): ResolvedService {
  if (!service.implementation) {
    throw new TypeError(`${serviceNameOf(service.definition)}: a hosted service needs an implementation`);
  }
  const implementation =
    typeof service.implementation === "function" ? service.implementation(tools) : service.implementation;
  return {
    name: service.name ?? serviceNameOf(service.definition),
    methods: methodsOf(service.definition),
    implementation,
  };
}
