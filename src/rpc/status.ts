/**
 * The gRPC status codes by name, for handlers and clients alike: `new ServerError(Status.NOT_FOUND,
 * "no such word")`, `if (error.code === Status.UNAVAILABLE) ...`. The numbers are gRPC's own, the
 * same in every language; rpcpool defines them itself (grpc-status.ts) so that a client loads
 * nothing of grpc-js.
 */
export { Status, type StatusCode, statusName } from "./grpc-status.js";
