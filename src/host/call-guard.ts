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
import type { CallLimit } from "./call-limit.js";

export interface GuardOptions {
  /** Calls must carry `authorization: Bearer <token>`; health stays open for probes. */
  token?: BearerToken;
  /** Most calls in flight from one client connection. */
  maxCallsPerConnection?: number;
  /** Most calls in flight on the whole server (health Watch streams and batch items included). */
  maxCalls?: number;
  /** Longest deadline a call may ask for, in milliseconds. */
  maxDeadlineMs?: number;
}

const openServices = ["/grpc.health.v1.Health/"];
const watchPath = "/grpc.health.v1.Health/Watch";

/**
 * The checks every call passes before its handler sees it: the bearer token, the deadline cap and
 * the bounds on calls in flight (server-wide and per connection). One interceptor, so user
 * services get them too. It also knows the open health Watch streams, to end them on drain: a
 * Watch never ends by itself, and would hold a draining server for its whole grace.
 */
export class CallGuard {
  readonly #watches = new Set<() => void>();

  constructor(
    readonly options: GuardOptions,
    readonly limit: CallLimit,
    private readonly onMalformed: (path: string, details: string) => void = () => {},
  ) {}

  /** Ends every open health Watch with UNAVAILABLE (after the NOT_SERVING it was just sent). */
  endWatches(): void {
    for (const end of [...this.#watches]) end();
  }

  readonly interceptor: ServerInterceptor = (method, call) => {
    const { options, limit } = this;
    const open = openServices.some((prefix) => method.path.startsWith(prefix));
    let release: (() => void) | undefined;
    let endWatch: (() => void) | undefined;
    const settle = () => {
      release?.();
      release = undefined;
      if (endWatch) this.#watches.delete(endWatch);
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
            `the requested deadline (${Math.round(ms)} ms) exceeds this server's cap of ${cap} ms (--max-deadline-ms)`,
          );
          return false;
        }
      }
      const entered = limit.enter(connectionKey(call));
      if (typeof entered === "string") {
        refuse(status.RESOURCE_EXHAUSTED, entered);
        return false;
      }
      release = entered;
      if (method.path === watchPath) {
        endWatch = () => {
          settle();
          call.sendStatus({ code: status.UNAVAILABLE, details: "the server is draining" });
        };
        this.#watches.add(endWatch);
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
              .withOnReceiveMessage((message, nextMessage) => {
                if (!(message instanceof MalformedRequest)) return nextMessage(message);
                this.onMalformed(method.path, message.reason);
                settle();
                refuse(
                  status.INVALID_ARGUMENT,
                  `malformed request: its bytes do not parse (${message.reason})`,
                );
              })
              .withOnCancel(settle)
              .build(),
          );
        })
        .withSendStatus((statusObject, next) => {
          settle();
          next(statusObject);
        })
        .build(),
    );
  };
}

/** What a tolerant deserializer returns for bytes that do not parse: the guard refuses the call. */
export class MalformedRequest {
  constructor(readonly reason: string) {}
}

/**
 * The methods with deserializers that never throw: grpc-js answers a throwing one INTERNAL, as
 * if the server were at fault, and no interceptor sees it. Bytes that do not parse become a
 * MalformedRequest, which the guard answers INVALID_ARGUMENT (and logs, one line, rate-limited).
 */
export function tolerantDeserializers<
  M extends Record<string, { requestDeserialize(bytes: Buffer): unknown }>,
>(methods: M): M {
  return Object.fromEntries(
    Object.entries(methods).map(([key, spec]) => [
      key,
      {
        ...spec,
        requestDeserialize: (bytes: Buffer) => {
          try {
            return spec.requestDeserialize(bytes);
          } catch (error) {
            return new MalformedRequest((error as Error)?.message ?? String(error));
          }
        },
      },
    ]),
  ) as M;
}

/** The client connection a call came on, as the batch sees it too (its peer). */
export function connectionKey(call: ServerInterceptingCallInterface): string {
  return call.getPeer();
}
