/**
 * rpcpool: a pool of gRPC servers for Node.js. Write a .proto, implement it as async functions
 * on `startServer`, and fan calls out with `Pool.connect(...)` like multiprocessing.Pool.map.
 * The lesson's calculator, rpcpool's first application, is at "rpcpool/lesson".
 */

// ---- For users: the pool, the server, errors -----------------------------------------------

export type { CallContext } from "./host/call-context.js";
export type { HostedService, ServiceTools } from "./host/hosted-service.js";
export { type RunningServer, type ServerOptions, startServer } from "./host/start-server.js";
export * from "./metrics/speedup.js";
export type { Outcome, PoolEvent, RunOptions, TaskFn } from "./pool/outcome.js";
export { type ConnectOptions, type LocalPoolOptions, Pool } from "./pool/pool.js";
export type { PoolServer, ServerInfo } from "./pool/server-connection.js";
export type { ServiceCallOptions, ServiceClient, ServiceOptions } from "./pool/service-client.js";
export type { CallOptions } from "./rpc/call-options.js";
export { ClientError } from "./rpc/client-error.js";
export { invalidArgument, ServerError } from "./rpc/server-error.js";
export type { ErrorDetails } from "./rpc/status-details.js";

// ---- For libraries: method specs, defaults, status details, local server processes -----------

export { BadReply, type ReplyCheck } from "./pool/bad-reply.js";
export {
  type LocalServer,
  type LocalServerOptions,
  startLocalServer,
  startLocalServers,
} from "./pool/local-servers.js";
export type { ClientSecurity } from "./rpc/client-credentials.js";
export { MethodDefaults, type MethodPolicy } from "./rpc/method-defaults.js";
export {
  type AnyServiceDefinition,
  type ClientStreamMethodName,
  type GenericServiceDefinition,
  type GrpcServiceDefinition,
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
