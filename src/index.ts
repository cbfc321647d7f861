/** rpcpool's public API: servers, the client pool, and the computations as plain functions. */

export type { CallControls } from "./client/call-options.js";
export { ClientError } from "./client/client-error.js";
export { type LocalServer, startLocalServer, startLocalServers } from "./client/local-servers.js";
export { type ConnectOptions, type LocalPoolOptions, type MapOptions, Pool } from "./client/pool.js";
export type { Outcome, PoolEvent } from "./client/scheduler.js";
export { ServerConnection } from "./client/server-connection.js";
export { circlesCall, meansCall, sleepCall, spinCall } from "./client/small-calls.js";
export {
  type ColumnSumsResult,
  columnSumsCall,
  type WeightedMeansResult,
  weightedMeansCall,
} from "./client/table-calls.js";
export type { CallContext } from "./host/call-context.js";
export type { HostedService, ServiceTools } from "./host/hosted-service.js";
export { type RunningServer, type ServerOptions, startServer } from "./host/start-server.js";
export { type LessonOptions, lessonServices } from "./lesson/host/lesson-services.js";
export { ServerError } from "./rpc/server-error.js";
