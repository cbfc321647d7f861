import type { Any } from "../gen/google/protobuf/any.js";
import {
  BadRequest,
  DebugInfo,
  ErrorInfo,
  Help,
  LocalizedMessage,
  PreconditionFailure,
  QuotaFailure,
  RequestInfo,
  ResourceInfo,
  RetryInfo,
} from "../gen/google/rpc/error_details.js";
import { Status } from "../gen/google/rpc/status.js";
import type { MessageCodec } from "./method-spec.js";

/** The trailer that carries a serialized google.rpc.Status, as every gRPC implementation reads it. */
export const statusDetailsKey = "grpc-status-details-bin";

/**
 * The standard error details (google/rpc/error_details.proto) an error may carry, at most one of
 * each kind, as Google's API design guide recommends. A Python or Go client reads them with its
 * stock tools (`grpc_status.rpc_status.from_call`, `status.FromError`).
 */
export interface ErrorDetails {
  errorInfo?: ErrorInfo;
  badRequest?: BadRequest;
  preconditionFailure?: PreconditionFailure;
  quotaFailure?: QuotaFailure;
  resourceInfo?: ResourceInfo;
  retryInfo?: RetryInfo;
  requestInfo?: RequestInfo;
  debugInfo?: DebugInfo;
  help?: Help;
  localizedMessage?: LocalizedMessage;
}

type Kinds = {
  [K in keyof ErrorDetails]-?: [typeName: string, codec: MessageCodec<NonNullable<ErrorDetails[K]>>];
};

const kinds: Kinds = {
  errorInfo: ["google.rpc.ErrorInfo", ErrorInfo],
  badRequest: ["google.rpc.BadRequest", BadRequest],
  preconditionFailure: ["google.rpc.PreconditionFailure", PreconditionFailure],
  quotaFailure: ["google.rpc.QuotaFailure", QuotaFailure],
  resourceInfo: ["google.rpc.ResourceInfo", ResourceInfo],
  retryInfo: ["google.rpc.RetryInfo", RetryInfo],
  requestInfo: ["google.rpc.RequestInfo", RequestInfo],
  debugInfo: ["google.rpc.DebugInfo", DebugInfo],
  help: ["google.rpc.Help", Help],
  localizedMessage: ["google.rpc.LocalizedMessage", LocalizedMessage],
};

const typeUrlPrefix = "type.googleapis.com/";

/** A google.rpc.Status with its details packed as Any, serialized for the trailer. */
export function encodeStatus(code: number, message: string, details: ErrorDetails): Buffer {
  const packed: Any[] = [];
  for (const [key, [typeName, codec]] of Object.entries(kinds) as Array<
    [keyof ErrorDetails, Kinds[keyof Kinds]]
  >) {
    const value = details[key];
    if (value !== undefined) {
      packed.push({
        typeUrl: typeUrlPrefix + typeName,
        value: Buffer.from((codec as MessageCodec<unknown>).encode(value).finish()),
      });
    }
  }
  return Buffer.from(Status.encode({ code, message, details: packed }).finish());
}

/** The status in a grpc-status-details-bin value; details of kinds we do not know are skipped. */
export function decodeStatus(bytes: Uint8Array): { code: number; message: string; details: ErrorDetails } {
  const status = Status.decode(bytes);
  const details: Record<string, unknown> = {};
  for (const any of status.details) {
    const typeName = any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1);
    const kind = Object.entries(kinds).find(([, [name]]) => name === typeName);
    if (kind) details[kind[0]] = (kind[1][1] as MessageCodec<unknown>).decode(any.value);
  }
  return { code: status.code, message: status.message, details: details as ErrorDetails };
}
