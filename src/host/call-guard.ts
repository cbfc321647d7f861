import {
  type Metadata,
  ResponderBuilder,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  ServerListenerBuilder,
  status,
} from "@grpc/grpc-js";
import type { BearerToken } from "./bearer-token.js";

export interface GuardOptions {
  /** Calls must carry `authorization: Bearer <token>`; health stays open for probes. */
  token?: BearerToken;
  /** Most calls in flight from one client connection. */
  maxCallsPerConnection?: number;
  /** Longest deadline a call may ask for, in milliseconds. */
  maxDeadlineMs?: number;
}

const openServices = ["/grpc.health.v1.Health/"];

/**
 * The checks every call passes before its handler sees it: the bearer token, the deadline cap and
 * the per-connection bound on calls in flight. One interceptor, so user services get them too.
 */
export function callGuard(options: GuardOptions): ServerInterceptor {
  const inFlight = new Map<string, number>();
  return (method, call) => {
    const open = openServices.some((prefix) => method.path.startsWith(prefix));
    let counted: string | undefined;
    const release = () => {
      if (counted === undefined) return;
      const left = (inFlight.get(counted) ?? 1) - 1;
      if (left <= 0) inFlight.delete(counted);
      else inFlight.set(counted, left);
      counted = undefined;
    };
    const refuse = (code: status, details: string) => call.sendStatus({ code, details });
    const check = (metadata: Metadata): boolean => {
      if (options.token && !open && !options.token.accepts(String(metadata.get("authorization")[0] ?? ""))) {
        refuse(status.UNAUTHENTICATED, "missing or wrong bearer token (send authorization: Bearer <token>)");
        return false;
      }
      const cap = options.maxDeadlineMs;
      if (cap !== undefined && !open) {
        const deadline = call.getDeadline();
        const ms = deadline instanceof Date ? deadline.getTime() - Date.now() : Number(deadline) - Date.now();
        if (Number.isFinite(ms) && ms > cap) {
          refuse(
            status.INVALID_ARGUMENT,
            `the requested deadline (${Math.round(ms)} ms) exceeds this server's cap of ${cap} ms`,
          );
          return false;
        }
      }
      const limit = options.maxCallsPerConnection;
      if (limit !== undefined) {
        const key = connectionKey(call);
        const n = inFlight.get(key) ?? 0;
        if (n >= limit) {
          refuse(
            status.RESOURCE_EXHAUSTED,
            `too many concurrent calls from this connection (limit ${limit})`,
          );
          return false;
        }
        inFlight.set(key, n + 1);
        counted = key;
      }
      return true;
    };
    return new ServerInterceptingCall(
      call,
      new ResponderBuilder()
        .withStart((next) => {
          next(
            new ServerListenerBuilder()
              .withOnReceiveMetadata((metadata, nextMetadata) => {
                if (check(metadata)) nextMetadata(metadata);
              })
              .withOnCancel(release)
              .build(),
          );
        })
        .withSendStatus((statusObject, next) => {
          release();
          next(statusObject);
        })
        .build(),
    );
  };
}

function connectionKey(call: ServerInterceptingCallInterface): string {
  const info = call.getConnectionInfo();
  return info.remoteAddress ? `${info.remoteAddress}:${info.remotePort}` : call.getPeer();
}
