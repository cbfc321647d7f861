/**
 * rpcpool/protocol, for libraries and tools built on rpcpool: method specs and per-method
 * defaults, `google.rpc.Status` details, the framework's own generated contracts (Info, Batch,
 * Store: definitions and messages), the transport's interface, and local server processes.
 * A user's program needs only "rpcpool"; this subpath is what the CLI, the queue and the lesson
 * build on. One export line per module, sorted by path: a branch that adds a name adds one line.
 */

export type { StoreCounters, ValueStoreOptions } from "./host/value-store.js";
export type { ValueTraffic } from "./pool/collectives.js";
export type {
  DuplexCall,
  ReceivedMetadata,
  ResolvedCall,
  Transport,
  TransportKind,
} from "./pool/transport/transport.js";
export { invalidArgument } from "./rpc/server-error.js";

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
