import { type handleBidiStreamingCall, status } from "@grpc/grpc-js";
import type { OpenRequest, OpenResponse } from "../gen/rpcpool/pool/v1/session.js";
import { serviceNameOf } from "../rpc/method-spec.js";
import { sessionServiceOf } from "../rpc/session-methods.js";
import type { HandlerDeps } from "./handlers.js";
import { type HostedClass, HostSession, type ObjectBudget, type SessionLimits } from "./host-session.js";
import type { HostedService, ServiceTools } from "./hosted-service.js";
import type { ServerIdentity } from "./identity.js";

export interface SessionHostOptions {
  /** Calls in flight per session (default 1000, as plain calls per connection). */
  maxCallsPerSession?: number;
  /** Objects alive per session (default 10,000). */
  maxObjectsPerSession?: number;
  /** Objects alive in all sessions of the server together (default 20,000, `--max-session-objects`). */
  maxObjects?: number;
  /** Sessions open at once on one client connection (default 64, `--max-sessions-per-connection`). */
  maxSessionsPerConnection?: number;
  /** Longest deadline a call in a session may ask for (the server's cap for plain calls). */
  maxDeadlineMs?: number;
  /** Bytes a session's frames may wait to be sent before it stops reading the client's (default 4 MiB). */
  maxUnsentBytes?: number;
  /** A callback's deadline when neither its options nor its method's call set one (default 60 s). */
  callbackTimeoutMs?: number;
}

/** The defaults of SessionHostOptions (docs/limits.md, docs/sessions.md). */
export const defaultSessionLimits = {
  maxCallsPerSession: 1000,
  maxObjectsPerSession: 10_000,
  // 50,000 of the lesson's accumulators took a server from 69 to 269 MiB: 20,000 keep to ~80 MiB.
  maxObjects: 20_000,
  maxSessionsPerConnection: 64,
  maxUnsentBytes: 4 << 20,
  callbackTimeoutMs: 60_000,
  /** Services one session may expose, and the longest name of one (proto full names are short). */
  maxExposed: 256,
  maxServiceNameLength: 1024,
} as const;

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
  readonly #objects: ObjectBudget;
  readonly #maxPerConnection: number;
  /** Sessions open per client connection (its peer address, unique while it is open). */
  readonly #perConnection = new Map<string, number>();
  #draining = false;

  constructor(deps: HandlerDeps & { identity: ServerIdentity }, options: SessionHostOptions = {}) {
    const defaults = defaultSessionLimits;
    this.#deps = deps;
    this.#limits = {
      maxCalls: options.maxCallsPerSession ?? defaults.maxCallsPerSession,
      maxObjects: options.maxObjectsPerSession ?? defaults.maxObjectsPerSession,
      maxDeadlineMs: options.maxDeadlineMs,
      maxUnsentBytes: options.maxUnsentBytes ?? defaults.maxUnsentBytes,
      callbackTimeoutMs: options.callbackTimeoutMs ?? defaults.callbackTimeoutMs,
      maxExposed: defaults.maxExposed,
      maxServiceNameLength: defaults.maxServiceNameLength,
    };
    this.#objects = { alive: 0, max: options.maxObjects ?? defaults.maxObjects };
    this.#maxPerConnection = options.maxSessionsPerConnection ?? defaults.maxSessionsPerConnection;
  }

  /** Hosts a service's `sessionClass`; a streaming method or a name hosted twice is a TypeError. */
  addClass(service: HostedService, tools: ServiceTools): void {
    const name = serviceNameOf(service.definition);
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
    const peer = call.getPeer();
    const open = this.#perConnection.get(peer) ?? 0;
    if (open >= this.#maxPerConnection) {
      call.emit("error", {
        code: status.RESOURCE_EXHAUSTED,
        details: `too many sessions open on this connection (limit ${this.#maxPerConnection}, --max-sessions-per-connection)`,
      });
      return;
    }
    this.#perConnection.set(peer, open + 1);
    const session: HostSession = new HostSession(
      call,
      { ...this.#deps, classes: this.#classes, limits: this.#limits, objects: this.#objects },
      () => {
        this.#sessions.delete(session);
        const left = (this.#perConnection.get(peer) ?? 1) - 1;
        if (left > 0) this.#perConnection.set(peer, left);
        else this.#perConnection.delete(peer);
      },
    );
    this.#sessions.add(session);
  };

  /** Sessions open and objects alive now. */
  stats(): { sessions: number; objects: number } {
    return { sessions: this.#sessions.size, objects: this.#objects.alive };
  }

  /** Opens no more sessions; each open one ends (UNAVAILABLE) once its calls in flight are done. */
  drain(): void {
    this.#draining = true;
    for (const session of [...this.#sessions]) session.drain();
  }
}
