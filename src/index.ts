/**
 * rpcpool: a pool of gRPC servers for Node.js. Write a .proto, implement it as async functions
 * on `startServer`, and fan calls out with `Pool.connect(...)` like multiprocessing.Pool.map.
 * The lesson's calculator, rpcpool's first application, is at "rpcpool/lesson".
 */

// ---- For users: the pool, the server, errors -----------------------------------------------

export type { CallContext } from "./host/call-context.js";
export type { HostedService, ServiceHandlers, ServiceTools } from "./host/hosted-service.js";
export type {
  ObjectContext,
  SessionCallContext,
  SessionClassFactory,
  SessionContext,
} from "./host/session-context.js";
export { type RunningServer, type ServerOptions, startServer } from "./host/start-server.js";
export type { StoreCounters, ValueStore, ValueStoreOptions } from "./host/value-store.js";
export * from "./metrics/speedup.js";
export type { ReduceOp, StoreCallOptions, ValueTraffic } from "./pool/collectives.js";
export type { Outcome, PoolEvent, RunOptions, TaskFn } from "./pool/outcome.js";
export { type ConnectOptions, type LocalPoolOptions, Pool } from "./pool/pool.js";
export type { RemoteObject } from "./pool/remote-object.js";
export type { PoolServer, ServerInfo } from "./pool/server-connection.js";
export type {
  KeepOptions,
  ServiceCallOptions,
  ServiceClient,
  ServiceOptions,
  StreamCallOptions,
} from "./pool/service-client.js";
export type { CallbackContext, InitRequest, Session, SessionOptions } from "./pool/session.js";
export type { PoolDuplexCall } from "./pool/stream-calls.js";
export type {
  DuplexCall,
  ReceivedMetadata,
  ResolvedCall,
  Transport,
  TransportKind,
  TransportOptions,
} from "./pool/transport/transport.js";
export { ValueHandle } from "./pool/value-handle.js";
export type { CallOptions } from "./rpc/call-options.js";
export { ClientError } from "./rpc/client-error.js";
export { invalidArgument, ServerError } from "./rpc/server-error.js";
export type {
  SessionCaller,
  SessionCallOptions,
  SessionImplementation,
} from "./rpc/session-methods.js";
export type { ErrorDetails } from "./rpc/status-details.js";

// ---- For libraries: method specs, defaults, status details, local server processes -----------

import { BatchServiceDefinition as Batch } from "./gen/rpcpool/pool/v1/batch.js";
import { InfoServiceDefinition as Info } from "./gen/rpcpool/pool/v1/info.js";
import { grpcServiceOf as grpcForm } from "./rpc/method-spec.js";

/** The framework's services in grpc-js's form (`XxxServiceService`), derived from the generic ones. */
export const BatchServiceService = grpcForm(Batch);
export const InfoServiceService = grpcForm(Info);
// The framework's own contract (proto/rpcpool/pool/v1), generated in both ts-proto forms.
export {
  BatchServiceDefinition,
  InvokeRequest,
  InvokeResponse,
  InvokeResult,
} from "./gen/rpcpool/pool/v1/batch.js";
export {
  HostedMethod,
  Idempotency as IdempotencyLevel,
  InfoRequest,
  InfoResponse,
  InfoServiceDefinition,
} from "./gen/rpcpool/pool/v1/info.js";
// The value store's contract (proto/rpcpool/pool/v1/store.proto).
export * from "./gen/rpcpool/pool/v1/store.js";
export { BadReply, type ReplyCheck } from "./pool/bad-reply.js";
export {
  type LocalServer,
  type LocalServerOptions,
  type StartedServer,
  startLocalServer,
  startLocalServers,
} from "./pool/local-servers.js";
export type { ClientSecurity } from "./rpc/client-credentials.js";
export { MethodDefaults, type MethodPolicy } from "./rpc/method-defaults.js";
export {
  type AnyServiceDefinition,
  type ClientStreamMethodName,
  type GenericServiceDefinition,
  type GrpcFormOf,
  type GrpcServiceDefinition,
  grpcServiceOf,
  type Idempotency,
  type MethodName,
  type MethodSpec,
  type MethodSpecs,
  methodsOf,
  type RequestOf,
  type ResponseOf,
  serviceNameOf,
  type UnaryMethodName,
} from "./rpc/method-spec.js";
export { decodeStatus, encodeStatus, statusDetailsKey } from "./rpc/status-details.js";
export { isHandle, missingHandleOf, valueMissing, valueMissingReason } from "./rpc/value-missing.js";
