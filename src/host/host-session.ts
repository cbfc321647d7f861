import type { ServerDuplexStream } from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import type {
  OpenRequest,
  OpenResponse,
  SessionCall,
  SessionCreate,
  SessionRelease,
} from "../gen/rpcpool/pool/v1/session.js";
import { linkedSignal } from "../rpc/abort-listeners.js";
import { ClientError } from "../rpc/client-error.js";
import { type AnyServiceDefinition, serviceNameOf } from "../rpc/method-spec.js";
import { ServerError } from "../rpc/server-error.js";
import {
  invokeMethod,
  type SessionCallOptions,
  type SessionService,
  sessionCaller,
  type UntypedSessionImplementation,
} from "../rpc/session-methods.js";
import { type ReplyStatus, SessionPeer } from "../rpc/session-peer.js";
import { encodeStatus, statusDetailsKey } from "../rpc/status-details.js";
import type { HandlerDeps } from "./handlers.js";
import type { ServerIdentity } from "./identity.js";
import type {
  ObjectContext,
  SessionCallContext,
  SessionClassFactory,
  SessionContext,
} from "./session-context.js";
import { SessionWriter } from "./session-writer.js";
import { toStatus } from "./to-status.js";

/** A session class as the host keeps it: its methods by path and its factory. */
export interface HostedClass {
  service: SessionService;
  factory: SessionClassFactory;
}

/** Bounds on one session; each refusal is RESOURCE_EXHAUSTED or INVALID_ARGUMENT in words. */
export interface SessionLimits {
  /** Calls of the client in flight at once (the per-connection bound of plain calls). */
  maxCalls: number;
  /** Objects alive at once. */
  maxObjects: number;
  /** Longest deadline a call may ask for; none when undefined. */
  maxDeadlineMs?: number;
  /**
   * Bytes of frames written but not yet taken by the connection (a client that does not read):
   * beyond them the session reads no more frames from the client until they drain.
   */
  maxUnsentBytes: number;
  /** A callback's deadline when neither its options nor its method's call give one. */
  callbackTimeoutMs: number;
  /** Services a client may expose in one session, and the longest name of one. */
  maxExposed: number;
  maxServiceNameLength: number;
}

/** Objects alive in all sessions of a server together, against its cap. */
export interface ObjectBudget {
  alive: number;
  readonly max: number;
}

export interface SessionDeps extends HandlerDeps {
  identity: ServerIdentity;
  classes: ReadonlyMap<string, HostedClass>;
  limits: SessionLimits;
  objects: ObjectBudget;
}

interface LiveObject {
  hosted: HostedClass;
  implementation: UntypedSessionImplementation<SessionCallContext>;
  controller: AbortController;
  context: ObjectContext;
}

const empty = Buffer.alloc(0);

/**
 * The server's end of one session: the client's objects and their calls, and the server's calls
 * back into the client. Whatever ends the stream (the client closing it, going away, or the server
 * draining) releases every object and ends every call in flight on both sides.
 */
export class HostSession {
  readonly #call: ServerDuplexStream<OpenRequest, OpenResponse>;
  readonly #deps: SessionDeps;
  readonly #peer: SessionPeer<OpenResponse>;
  readonly #objects = new Map<number, LiveObject>();
  readonly #exposed = new Set<string>();
  /** Errors that came back from the client's callbacks: they keep their code on the way out. */
  readonly #fromClient = new WeakSet<object>();
  #draining = false;
  #closed = false;
  readonly #writer: SessionWriter;
  readonly #onEnd: () => void;

  constructor(call: ServerDuplexStream<OpenRequest, OpenResponse>, deps: SessionDeps, onEnd: () => void) {
    this.#call = call;
    this.#deps = deps;
    this.#onEnd = onEnd;
    this.#writer = new SessionWriter(call, deps.limits.maxUnsentBytes);
    this.#peer = new SessionPeer<OpenResponse>({
      send: (frame) => this.#writer.write(frame),
      remote: call.getPeer(),
      statusOf: (error) => this.#statusOf(error),
      onServedSettled: () => {
        if (this.#draining && this.#peer.serving === 0) this.#finish(shuttingDown(), "status");
      },
    });
    call.on("data", (frame: OpenRequest) => this.#onFrame(frame));
    // The client half-closed: it is done with the session.
    call.on("end", () =>
      this.#finish(new ClientError(status.CANCELLED, "the client closed the session"), "end"),
    );
    // The client cancelled the stream, or its connection broke (a killed process, a cut link).
    call.on("cancelled", () => this.#finish(clientGone(), "none"));
    call.on("error", () => this.#finish(clientGone(), "none"));
    this.#writer.write({ opened: { server: deps.identity.server, classes: [...deps.classes.keys()] } });
  }

  /** Objects alive in this session. */
  get objects(): number {
    return this.#objects.size;
  }

  /** Takes no more calls or objects; ends the session once its calls in flight are done. */
  drain(): void {
    this.#draining = true;
    if (this.#peer.serving === 0) this.#finish(shuttingDown(), "status");
  }

  #onFrame(frame: OpenRequest): void {
    if (this.#closed || this.#peer.receive(frame)) return;
    if (frame.expose) this.#expose(frame.expose.services);
    else if (frame.call) this.#serveCall(frame.call);
    else if (frame.create) this.#serveCreate(frame.create);
    else if (frame.release) this.#serveRelease(frame.release);
    // Anything else is a frame of a newer client that this server does not know: ignored.
  }

  /** Takes the names of services the client implements, within the session's bounds. */
  #expose(names: string[]): void {
    const { maxExposed, maxServiceNameLength } = this.#deps.limits;
    for (const name of names) {
      if (this.#exposed.has(name)) continue;
      const why =
        name.length > maxServiceNameLength
          ? `a service name of ${name.length} characters (limit ${maxServiceNameLength})`
          : this.#exposed.size >= maxExposed
            ? `more than ${maxExposed} services`
            : undefined;
      if (why) {
        // Exposes have no reply: the session's end says it, names held are bounded either way.
        this.#finish(new ClientError(status.RESOURCE_EXHAUSTED, `the session exposes ${why}`), "status");
        return;
      }
      this.#exposed.add(name);
    }
  }

  #serveCall(call: SessionCall): void {
    this.#serve(call.id, call.timeoutMs, async (signal, deadline) => {
      this.#admit(call.timeoutMs);
      const object = this.#objects.get(call.objectId);
      if (!object) {
        throw new ServerError(
          status.NOT_FOUND,
          `no object ${call.objectId} in this session (never created, or released)`,
        );
      }
      const spec = object.hosted.service.methods.get(call.method);
      if (!spec) {
        throw new ServerError(
          status.UNIMPLEMENTED,
          `${object.hosted.service.name} has no method ${call.method}`,
        );
      }
      // The call ends with its object too.
      const linked = linkedSignal(signal, object.controller.signal);
      try {
        const context: SessionCallContext = {
          ...this.#sessionContext(linked.signal, deadline),
          signal: linked.signal,
          deadline,
          object: object.context,
        };
        return await invokeMethod(spec, object.implementation, call.request, context);
      } finally {
        linked.dispose();
      }
    });
  }

  #serveCreate(create: SessionCreate): void {
    this.#serve(create.id, 0, async () => {
      this.#admit(0);
      const hosted = this.#deps.classes.get(create.className);
      if (!hosted) {
        const known = [...this.#deps.classes.keys()];
        throw new ServerError(
          status.NOT_FOUND,
          `this server hosts no session class ${create.className} (it hosts: ${known.join(", ") || "none"})`,
        );
      }
      if (this.#objects.has(create.id))
        throw new ServerError(status.ALREADY_EXISTS, `object ${create.id} already exists in this session`);
      if (this.#objects.size >= this.#deps.limits.maxObjects) {
        throw new ServerError(
          status.RESOURCE_EXHAUSTED,
          `too many objects in this session (limit ${this.#deps.limits.maxObjects}): release some first`,
        );
      }
      const budget = this.#deps.objects;
      if (budget.alive >= budget.max) {
        throw new ServerError(
          status.RESOURCE_EXHAUSTED,
          `too many session objects on this server (limit ${budget.max}, --max-session-objects): release some first`,
        );
      }
      const controller = new AbortController();
      const context: ObjectContext = {
        ...this.#sessionContext(controller.signal, Number.POSITIVE_INFINITY),
        id: create.id,
        signal: controller.signal,
      };
      // Made before this frame's handling returns: calls pipelined behind the create find it.
      const implementation = hosted.factory(context) as UntypedSessionImplementation<SessionCallContext>;
      this.#objects.set(create.id, { hosted, implementation, controller, context });
      budget.alive++;
      return empty;
    });
  }

  #serveRelease(release: SessionRelease): void {
    this.#serve(release.id, 0, async () => {
      if (!this.#release(release.objectId, "was released")) {
        throw new ServerError(status.NOT_FOUND, `no object ${release.objectId} in this session`);
      }
      return empty;
    });
  }

  /** Serves a frame of the client's as a call: counted in flight (Info, draining) until it settles. */
  #serve(id: number, timeoutMs: number, work: (signal: AbortSignal, deadline: number) => Promise<Buffer>) {
    this.#peer.serve(id, timeoutMs, async ({ signal, deadline }) => {
      const done = this.#deps.tracker.enter();
      try {
        return await work(signal, deadline);
      } finally {
        done();
      }
    });
  }

  /** Refuses new work while draining, beyond the bound on calls in flight, or beyond the deadline cap. */
  #admit(timeoutMs: number): void {
    if (this.#draining) throw new ServerError(status.UNAVAILABLE, shuttingDown().details);
    const { maxCalls, maxDeadlineMs } = this.#deps.limits;
    if (this.#peer.serving > maxCalls) {
      throw new ServerError(
        status.RESOURCE_EXHAUSTED,
        `too many concurrent calls in this session (limit ${maxCalls})`,
      );
    }
    if (maxDeadlineMs !== undefined && timeoutMs > maxDeadlineMs) {
      throw new ServerError(
        status.INVALID_ARGUMENT,
        `the requested deadline (${timeoutMs} ms) exceeds this server's cap of ${maxDeadlineMs} ms`,
      );
    }
  }

  /** The session as a method or an object sees it; callbacks default to `signal` and `deadline`. */
  #sessionContext(signal: AbortSignal, deadline: number): SessionContext {
    const call = this.#call;
    return {
      metadata: call.metadata,
      peer: call.getPeer(),
      exposes: (definition) => this.#exposed.has(serviceNameOf(definition)),
      callbacks: <D extends AnyServiceDefinition>(definition: D) => {
        const name = serviceNameOf(definition);
        return sessionCaller(definition, async (spec, request, options: SessionCallOptions) => {
          if (!this.#exposed.has(name)) {
            throw this.#tag(
              new ClientError(status.UNIMPLEMENTED, `the client exposes no ${name} in this session`),
            );
          }
          // Never without a deadline: a client that never answers must not hold the method for ever.
          const timeoutMs =
            options.timeoutMs ??
            (Number.isFinite(deadline) ? deadline - Date.now() : this.#deps.limits.callbackTimeoutMs);
          try {
            return await this.#peer.call(spec.path, 0, request, {
              signal: options.signal ?? signal,
              timeoutMs,
            });
          } catch (error) {
            throw this.#tag(error);
          }
        });
      },
    };
  }

  #tag(error: unknown): unknown {
    if (error instanceof ClientError) this.#fromClient.add(error);
    return error;
  }

  /** A method's failure as its reply says it: a callback's error keeps its code, the rest as for unary calls. */
  #statusOf(error: unknown): ReplyStatus {
    if (error instanceof ClientError && this.#fromClient.has(error)) {
      const hasDetails = Object.keys(error.errorDetails).length > 0;
      return {
        code: error.code,
        message: error.details,
        statusDetails: hasDetails ? encodeStatus(error.code, error.details, error.errorDetails) : empty,
      };
    }
    const reply = toStatus(error, (bug) => this.#deps.log(`internal error: ${(bug as Error)?.stack ?? bug}`));
    const details = reply.metadata.get(statusDetailsKey)[0];
    return {
      code: reply.code,
      message: reply.details,
      statusDetails: details instanceof Buffer ? details : empty,
    };
  }

  #release(id: number, why: string): boolean {
    const object = this.#objects.get(id);
    if (!object) return false;
    this.#objects.delete(id);
    this.#deps.objects.alive--;
    object.controller.abort(new DOMException(`object ${id} ${why}`, "AbortError"));
    return true;
  }

  /**
   * Ends the session once: the client's calls are cancelled, the server's callback calls fail with
   * `reason`, and every object is released. "end" closes the stream with OK, "status" with
   * UNAVAILABLE (draining), "none" sends nothing (the stream is already gone).
   */
  #finish(reason: ClientError, close: "end" | "status" | "none"): void {
    if (this.#closed) return;
    this.#peer.end(reason);
    this.#closed = true;
    this.#writer.close();
    for (const id of [...this.#objects.keys()]) this.#release(id, "was released: the session ended");
    try {
      if (close === "end") this.#call.end();
      else if (close === "status") this.#call.emit("error", { code: reason.code, details: reason.details });
    } catch {
      // The stream went away meanwhile: nothing is left to tell.
    }
    this.#onEnd();
  }
}

const shuttingDown = () =>
  new ClientError(status.UNAVAILABLE, "the server is shutting down: the session ended");
const clientGone = () => new ClientError(status.UNAVAILABLE, "the client went away: the session ended");
