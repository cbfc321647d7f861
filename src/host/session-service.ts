import { type handleBidiStreamingCall, status } from "@grpc/grpc-js";
import type { OpenRequest, OpenResponse } from "../gen/rpcpool/pool/v1/session.js";
import { serviceNameOf } from "../rpc/method-spec.js";
import { sessionServiceOf } from "../rpc/session-methods.js";
import type { HandlerDeps } from "./handlers.js";
import { type HostedClass, HostSession, type SessionLimits } from "./host-session.js";
import type { HostedService, ServiceTools } from "./hosted-service.js";
import type { ServerIdentity } from "./identity.js";

export interface SessionHostOptions {
  /** Calls in flight per session (default 1000, as plain calls per connection). */
  maxCallsPerSession?: number;
  /** Objects alive per session (default 10,000). */
  maxObjectsPerSession?: number;
  /** Longest deadline a call in a session may ask for (the server's cap for plain calls). */
  maxDeadlineMs?: number;
}

/**
 * rpcpool.pool.v1.SessionService on one server: the session classes it hosts, and its sessions
 * (docs/sessions.md). Every server hosts it; a server without session classes still serves
 * sessions (their creates are refused with NOT_FOUND).
 */
export class SessionHost {
  readonly #classes = new Map<string, HostedClass>();
  readonly #sessions = new Set<HostSession>();
  readonly #deps: HandlerDeps & { identity: ServerIdentity };
  readonly #limits: SessionLimits;
  #draining = false;

  constructor(deps: HandlerDeps & { identity: ServerIdentity }, options: SessionHostOptions = {}) {
    this.#deps = deps;
    this.#limits = {
      maxCalls: options.maxCallsPerSession ?? 1000,
      maxObjects: options.maxObjectsPerSession ?? 10_000,
      maxDeadlineMs: options.maxDeadlineMs,
    };
  }

  /** Hosts a service's `sessionClass`; a streaming method or a name hosted twice is a TypeError. */
  addClass(service: HostedService, tools: ServiceTools): void {
    const name = service.name ?? serviceNameOf(service.definition);
    if (this.#classes.has(name)) throw new TypeError(`session class ${name} is hosted twice`);
    const sessionService = { ...sessionServiceOf(service.definition, "session class"), name };
    this.#classes.set(name, { service: sessionService, factory: service.sessionClass!(tools) });
  }

  /** The handler of SessionService/Open. */
  readonly open: handleBidiStreamingCall<OpenRequest, OpenResponse> = (call) => {
    if (this.#draining) {
      call.emit("error", { code: status.UNAVAILABLE, details: "the server is shutting down" });
      return;
    }
    const session: HostSession = new HostSession(
      call,
      { ...this.#deps, classes: this.#classes, limits: this.#limits },
      () => this.#sessions.delete(session),
    );
    this.#sessions.add(session);
  };

  /** Sessions open and objects alive now. */
  stats(): { sessions: number; objects: number } {
    let objects = 0;
    for (const session of this.#sessions) objects += session.objects;
    return { sessions: this.#sessions.size, objects };
  }

  /** Opens no more sessions; each open one ends (UNAVAILABLE) once its calls in flight are done. */
  drain(): void {
    this.#draining = true;
    for (const session of [...this.#sessions]) session.drain();
  }
}
