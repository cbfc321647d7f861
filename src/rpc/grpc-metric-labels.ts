/**
 * The labels of the standard gRPC series, as go-grpc-prometheus writes them, shared by the
 * server's grpc_server_* and the client's grpc_client_* series (src/host/metrics,
 * src/pool/metrics): dashboards written for Go or Java services read rpcpool's unchanged.
 */

/** Go's `codes.Code.String()`: what go-grpc-prometheus puts in `grpc_code`. */
const codeNames = [
  "OK",
  "Canceled",
  "Unknown",
  "InvalidArgument",
  "DeadlineExceeded",
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ResourceExhausted",
  "FailedPrecondition",
  "Aborted",
  "OutOfRange",
  "Unimplemented",
  "Internal",
  "Unavailable",
  "DataLoss",
  "Unauthenticated",
];

/** `grpc_code` of a status code ("Code(n)" for one gRPC does not define, as Go writes it). */
export function grpcCodeLabel(code: number): string {
  return codeNames[code] ?? `Code(${code})`;
}

export type GrpcType = "unary" | "client_stream" | "server_stream" | "bidi_stream";

/** `grpc_type` of a method, from whether its requests and its replies stream. */
export function grpcTypeLabel(requestStream: boolean, responseStream: boolean): GrpcType {
  if (requestStream) return responseStream ? "bidi_stream" : "client_stream";
  return responseStream ? "server_stream" : "unary";
}

/** `grpc_service` and `grpc_method` of a path "/package.Service/Method". */
export function grpcPathLabels(path: string): { grpc_service: string; grpc_method: string } {
  const slash = path.lastIndexOf("/");
  if (slash <= 0) return { grpc_service: "unknown", grpc_method: path.replace(/^\//, "") || "unknown" };
  return { grpc_service: path.slice(1, slash), grpc_method: path.slice(slash + 1) };
}
