/**
 * rpcpool, for users: a pool of gRPC servers for Node.js. Write a .proto, implement it as plain
 * async functions (`ServiceImplementation`) on `startServer`, and fan calls out with
 * `Pool.connect(...)` like multiprocessing.Pool.map. About 40 names: the pool and its service
 * client, the server, errors and `Status`, call options, collectives and sessions.
 * What libraries and tools need (method specs, status details, the framework's generated
 * contracts, local server processes) is at "rpcpool/protocol"; the lesson's calculator and its
 * speed-up metrics at "rpcpool/lesson". One export line per module, sorted by path: a branch that
 * adds a name adds or edits one line.
 */

export type { CallContext } from "./host/call-context.js";
export { defineService, type HostedService, type ServiceTools } from "./host/hosted-service.js";
export type {
  ContextTools,
  DeepPartial,
  MethodImplementation,
  ServerCallContext,
  ServiceImplementation,
} from "./host/service-implementation.js";
export type {
  ObjectContext,
  SessionCallContext,
  SessionClassFactory,
  SessionContext,
} from "./host/session-context.js";
export { type RunningServer, type ServerOptions, startServer } from "./host/start-server.js";
export type { ValueStore } from "./host/value-store.js";
export type { ReduceOp, StoreCallOptions } from "./pool/collectives.js";
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
export type { TransportOptions } from "./pool/transport/transport.js";
export { ValueHandle } from "./pool/value-handle.js";
export type { CallOptions } from "./rpc/call-options.js";
export { ClientError } from "./rpc/client-error.js";
export { ServerError } from "./rpc/server-error.js";
export type {
  SessionCaller,
  SessionCallOptions,
  SessionImplementation,
} from "./rpc/session-methods.js";
export { Status, type StatusCode } from "./rpc/status.js";
export type { ErrorDetails } from "./rpc/status-details.js";
