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
import { callClient } from "./client-key.js";

export interface GuardOptions {
  /** Calls must carry `authorization: Bearer <token>`; health stays open for probes. */
  token?: BearerToken;
  /** Most calls in flight from one client connection. */
  maxCallsPerConnection?: number;
  /** Most calls in flight from one client (its connection, or its `rpcpool-client` name). */
  maxCallsPerClient?: number;
  /** Most calls in flight on the whole server (batch items included, health Watch streams not). */
  maxCalls?: number;
  /** Most health Watch streams open at once, server-wide (default 100): they have a cap of their own. */
  maxHealthWatches?: number;
  /** Longest deadline a call may ask for, in milliseconds. */
  maxDeadlineMs?: number;
}

const openServices = ["/grpc.health.v1.Health/"];
const watchPath = "/grpc.health.v1.Health/Watch";
/** Lists every hosted service's status: a caller without the token learns nothing of them. */
const listPath = "/grpc.health.v1.Health/List";

export const defaultMaxHealthWatches = 100;

/**
 * How long a health call may wait for its request message after its headers. Health needs no
 * token: a Check whose request never comes would otherwise hold its place in --max-calls for ever,
 * and ten connections of a thousand such Checks would keep every real call out.
 */
export const healthRequestTimeoutMs = 5000;

/** What the guard tells the connection table of each call it lets in (connection-table.ts). */
export interface CallObserver {
  callStarted(peer: string, kind: { proven: boolean; health: boolean }): () => void;
}

/**
 * The checks every call passes before its handler sees it: the bearer token, the deadline cap and
 * the bounds on calls in flight (server-wide and per connection; health Watches have a cap of
 * their own). One interceptor, so user services get them too. Health is open without the token,
 * but only for the server's overall status: a named service's (or the List of them all) needs the
 * token. It tells the connection table of each call (which connections proved themselves, which
 * are busy). It also knows the open health Watch streams, to end them on drain: a Watch never ends
 * by itself, and would hold a draining server for its whole grace.
 */
export class CallGuard {
  readonly #watches = new Set<() => void>();

  constructor(
    readonly options: GuardOptions,
    readonly limit: CallLimit,
    private readonly onMalformed: (path: string, details: string) => void = () => {},
    private readonly connections?: CallObserver,
  ) {}

  /** Health Watch streams open now. */
  get watches(): number {
    return this.#watches.size;
  }

  /** Ends every open health Watch with UNAVAILABLE (after the NOT_SERVING it was just sent). */
  endWatches(): void {
    for (const end of [...this.#watches]) end();
  }

  readonly interceptor: ServerInterceptor = (method, call) => {
    const { options, limit } = this;
    const open = openServices.some((prefix) => method.path.startsWith(prefix));
    const watch = method.path === watchPath;
    // Without a token, health is open for the server's own status ("") only: probes ask for that.
    let withToken = options.token === undefined;
    const releases: Array<() => void> = [];
    let endWatch: (() => void) | undefined;
    let requestTimer: NodeJS.Timeout | undefined;
    const settle = () => {
      clearTimeout(requestTimer);
      for (const release of releases.splice(0)) release();
      if (endWatch) this.#watches.delete(endWatch);
    };
    const refuse = (code: status, details: string) => call.sendStatus({ code, details });
    const check = (metadata: Metadata): boolean => {
      if (options.token) withToken = options.token.accepts(String(metadata.get("authorization")[0] ?? ""));
      if ((!open || method.path === listPath) && !withToken) {
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
      if (watch) {
        // Watches have a cap of their own: open for ever and unauthenticated, they must not fill
        // --max-calls and keep every real call out.
        const max = options.maxHealthWatches ?? defaultMaxHealthWatches;
        if (this.#watches.size >= max) {
          refuse(
            status.RESOURCE_EXHAUSTED,
            `too many health Watch streams open on this server (limit ${max}, --max-health-watches)`,
          );
          return false;
        }
        endWatch = () => {
          settle();
          call.sendStatus({ code: status.UNAVAILABLE, details: "the server is draining" });
        };
        this.#watches.add(endWatch);
      } else {
        const entered = limit.enter(connectionKey(call), callClient(metadata, connectionKey(call)).client);
        if (typeof entered === "string") {
          refuse(status.RESOURCE_EXHAUSTED, entered);
          return false;
        }
        releases.push(entered);
      }
      // A connection proves itself with the token (or, on a server without one, any call but health).
      const proven = options.token ? withToken : !open;
      if (this.connections)
        releases.push(this.connections.callStarted(connectionKey(call), { proven, health: open }));
      if (open) {
        requestTimer = setTimeout(() => {
          settle();
          refuse(
            status.CANCELLED,
            `the request did not come within ${healthRequestTimeoutMs} ms of the call's headers`,
          );
        }, healthRequestTimeoutMs);
        requestTimer.unref();
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
                clearTimeout(requestTimer);
                if (open && !withToken && namedService(message)) {
                  // SERVING, NOT_FOUND or SERVICE_UNKNOWN would tell which services the server hosts.
                  settle();
                  return refuse(
                    status.UNAUTHENTICATED,
                    'the health of a named service needs the bearer token; without it, ask for the server\'s ("")',
                  );
                }
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

/** A health request that names a service (not the server's own status, ""). */
function namedService(message: unknown): boolean {
  const service = (message as { service?: unknown } | null)?.service;
  return typeof service === "string" && service !== "";
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
