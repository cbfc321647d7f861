import {
  type OpenRequest,
  type OpenResponse,
  type SessionCall,
  SessionServiceDefinition,
} from "../gen/rpcpool/pool/v1/session.js";
import { onAbort } from "../rpc/abort-listeners.js";
import type { CallOptions } from "../rpc/call-options.js";
import { ClientError } from "../rpc/client-error.js";
import { Status as status } from "../rpc/grpc-status.js";
import {
  type AnyServiceDefinition,
  type MethodName,
  type MethodSpec,
  methodsOf,
  type RequestOf,
} from "../rpc/method-spec.js";
import { ServerError } from "../rpc/server-error.js";
import {
  invokeMethod,
  type SessionCallOptions,
  type SessionImplementation,
  type SessionService,
  sessionServiceOf,
  type UntypedSessionImplementation,
} from "../rpc/session-methods.js";
import { frameBytes, type ReplyStatus, SessionPeer } from "../rpc/session-peer.js";
import { encodeStatus } from "../rpc/status-details.js";
import { RemoteObject } from "./remote-object.js";
import type { ServerConnection } from "./server-connection.js";
import type { DuplexCall } from "./transport/transport.js";

export interface SessionOptions {
  /** Milliseconds to wait for the server to open the session (default 5 s). */
  timeoutMs?: number;
  /** Aborting closes the session, as `close()` does. */
  signal?: AbortSignal;
  /** Request metadata sent besides the pool's own (the bearer token). */
  metadata?: CallOptions["metadata"];
  /**
   * Bytes of frames written but not yet taken by the connection beyond which the server's new
   * callbacks wait before they run (default 4 MiB): a server that asks and does not read the
   * answers cannot make the client pile them up.
   */
  maxUnsentBytes?: number;
}

/** What a callback the client exposes gets besides its request. */
export interface CallbackContext {
  /** Aborted when the server cancels the call, its deadline passes, or the session ends. */
  readonly signal: AbortSignal;
  /** Epoch milliseconds; Infinity when the server set none. */
  readonly deadline: number;
  readonly session: Session;
}

/** The request of a session class's constructor (its method `Init`), if it has one. */
export type InitRequest<D> = "init" extends MethodName<D> ? RequestOf<D, "init" & MethodName<D>> : never;

const openMethod = methodsOf(SessionServiceDefinition).open as MethodSpec<OpenRequest, OpenResponse>;
const empty = Buffer.alloc(0);

/**
 * A symmetric session with one server (RPyC's connection; docs/sessions.md): one stream both ways
 * over which the client makes objects of the server's session classes and calls their methods,
 * and the server calls back into services the client exposes. State lives on that server, so a
 * session is never moved to another: when the server dies, every call in flight on either side
 * ends with UNAVAILABLE, and the objects are gone.
 */
export class Session {
  #server = "";
  #classes: readonly string[] = [];
  /** Resolves, once the session has ended, with why (CANCELLED after `close()`). */
  readonly ended: Promise<ClientError>;
  readonly #connection: ServerConnection;
  readonly #stream: DuplexCall<OpenRequest, OpenResponse>;
  readonly #peer: SessionPeer<OpenRequest>;
  readonly #exposed = new Map<string, { service: SessionService; implementation: unknown }>();
  #closing = false;
  #end!: (reason: ClientError) => void;
  /** Bytes of frames handed to the stream that the connection has not taken yet. */
  #unsent = 0;
  readonly #maxUnsent: number;
  /** Callbacks waiting for the unsent bytes to go down. */
  readonly #waitingForRoom = new Set<() => void>();

  private constructor(connection: ServerConnection, options: SessionOptions) {
    this.#connection = connection;
    this.ended = new Promise((resolve) => {
      this.#end = resolve;
    });
    this.#maxUnsent = options.maxUnsentBytes ?? 4 << 20;
    this.#stream = connection.duplex(openMethod, {
      metadata: options.metadata,
      onWritten: (frame) => this.#written(frame),
    });
    this.#peer = new SessionPeer<OpenRequest>({
      // Frames are written in order at once, counted until the connection takes them.
      send: (frame) => this.#write(frame),
      remote: connection.address,
      statusOf: callbackStatus,
    });
  }

  /** Opens a session on one server of a pool; resolves when the server has opened it. */
  static async open(connection: ServerConnection, options: SessionOptions = {}): Promise<Session> {
    const session = new Session(connection, options);
    const stream = session.#stream;
    const timeoutMs = options.timeoutMs ?? 5_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new ClientError(
          status.DEADLINE_EXCEEDED,
          `the server did not open a session within ${timeoutMs} ms`,
          { server: connection.address },
        );
        reject(error);
        stream.cancel(error);
      }, timeoutMs);
      session.ended.then((reason) => {
        clearTimeout(timer);
        reject(reason);
      });
      // The frames as they come, until the stream ends: with OK (the server ended the session)
      // or with an error (it died, refused, or we cancelled).
      (async () => {
        try {
          for await (const frame of stream.replies) {
            if (frame.opened) {
              clearTimeout(timer);
              session.#server = frame.opened.server || connection.address;
              session.#classes = frame.opened.classes;
              resolve();
            } else session.#onFrame(frame);
          }
          session.#finish(serverEnded(session));
        } catch (error) {
          session.#finish(streamError(error, session));
        }
      })();
    });
    const signal = options.signal;
    if (signal) {
      const onAbort = () => void session.close();
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
      session.ended.then(() => signal.removeEventListener("abort", onAbort));
    }
    return session;
  }

  /** The server's name, as it stamps replies. */
  get server(): string {
    return this.#server;
  }

  /** The server's address. */
  get address(): string {
    return this.#connection.address;
  }

  /** Full names of the session classes the server hosts. */
  get classes(): readonly string[] {
    return this.#classes;
  }

  /**
   * Makes an object of a session class the server hosts, e.g. `create(AccumulatorServiceDefinition)`.
   * When the class has an `Init` method (its constructor), `init` is its request (default: the
   * request message's defaults); a failing constructor rejects the create and releases the object.
   */
  async create<D extends AnyServiceDefinition>(
    definition: D,
    init?: InitRequest<D>,
    options: SessionCallOptions = {},
  ): Promise<RemoteObject<D>> {
    const service = sessionServiceOf(definition, "session class");
    let id = 0;
    const created = this.#peer.request((callId) => {
      id = callId;
      return { create: { id: callId, className: service.name } };
    }, this.#callOptions(options));
    // No id: the session had ended, or the signal had fired; the create says which.
    if (id === 0) await created;
    const object = new RemoteObject(definition, id, service.name, {
      ended: () => !this.isOpen,
      call: (spec, request, callOptions) => this.#callObject(id, spec, request, callOptions),
      release: (callOptions) =>
        this.#peer
          .request((callId) => ({ release: { id: callId, objectId: id } }), this.#callOptions(callOptions))
          .then(() => undefined),
    });
    const initSpec = [...service.methods.values()].find((spec) => spec.path.endsWith("/Init"));
    // Pipelined behind the create: one round trip for both.
    const constructed = initSpec
      ? this.#callObject(id, initSpec, init === undefined ? empty : initSpec.requestSerialize(init), options)
      : undefined;
    constructed?.catch(() => {});
    await created;
    try {
      await constructed;
    } catch (error) {
      await object.release().catch(() => {});
      throw error;
    }
    return object;
  }

  /**
   * Exposes a service the client implements (a service of the user's proto) for the server's
   * methods to call back: `expose(ProgressServiceDefinition, { report: async (request, context) =>
   * ({}) })`. Exposing a service again replaces its implementation. Returns the session.
   */
  expose<D extends AnyServiceDefinition>(
    definition: D,
    implementation: SessionImplementation<D, CallbackContext>,
  ): this {
    const service = sessionServiceOf(definition, "callback service");
    const known = this.#exposed.has(service.name);
    this.#exposed.set(service.name, { service, implementation });
    if (!known) this.#send({ expose: { services: [service.name] } });
    return this;
  }

  /**
   * Ends the session: the server releases its objects, calls in flight on either side end with
   * CANCELLED. Resolves once the server has seen it (or after 5 s).
   */
  async close(): Promise<void> {
    if (!this.#closing && !this.#peer.ended) {
      this.#closing = true;
      this.#peer.end(new ClientError(status.CANCELLED, "the session was closed", { server: this.address }));
      this.#stream.end();
      const timer = setTimeout(() => this.#stream.cancel(), 5_000);
      await this.ended;
      clearTimeout(timer);
    }
    await this.ended;
  }

  #callObject(
    objectId: number,
    spec: MethodSpec,
    request: Buffer,
    options: SessionCallOptions,
  ): Promise<Buffer> {
    const connection = this.#connection;
    connection.inFlight++;
    return this.#peer
      .call(spec.path, objectId, request, this.#callOptions(options, spec))
      .finally(() => connection.inFlight--);
  }

  /** A call's signal and deadline, the deadline from the pool's defaults for the method. */
  #callOptions(options: SessionCallOptions, spec?: MethodSpec): { signal?: AbortSignal; timeoutMs: number } {
    const defaults = spec ? this.#connection.options.defaults?.policy(spec).timeoutMs : undefined;
    return { signal: options.signal, timeoutMs: options.timeoutMs ?? defaults ?? 60_000 };
  }

  #onFrame(frame: OpenResponse): void {
    if (this.#peer.receive(frame)) return;
    if (frame.call) this.#serveCallback(frame.call);
  }

  #write(frame: OpenRequest): void {
    this.#unsent += frameBytes(frame);
    void this.#stream.send(frame);
  }

  #written(frame: OpenRequest): void {
    this.#unsent -= frameBytes(frame);
    if (this.#unsent <= this.#maxUnsent / 2) for (const wake of [...this.#waitingForRoom]) wake();
  }

  /**
   * Resolves once the frames waiting to be sent are within the bound (at once when they are), or
   * the call is given up or the session ends. The client still reads every frame meanwhile: the
   * replies to its own calls, and the server's side never waits on the client's reading.
   */
  #room(signal: AbortSignal): Promise<void> | undefined {
    if (this.#unsent <= this.#maxUnsent || signal.aborted) return undefined;
    return new Promise<void>((resolve) => {
      const wake = () => {
        this.#waitingForRoom.delete(wake);
        off();
        resolve();
      };
      const off = onAbort(signal, wake);
      this.#waitingForRoom.add(wake);
    });
  }

  #serveCallback(call: SessionCall): void {
    this.#peer.serve(call.id, call.timeoutMs, async ({ signal, deadline }) => {
      // A server that asks and does not read the answers gets no more answered until it reads.
      await this.#room(signal);
      if (signal.aborted) throw signal.reason;
      const name = call.method.slice(1, call.method.lastIndexOf("/"));
      const exposed = this.#exposed.get(name);
      const spec = exposed?.service.methods.get(call.method);
      if (!exposed || !spec) {
        throw new ServerError(status.UNIMPLEMENTED, `the client exposes no ${call.method} in this session`);
      }
      const implementation = exposed.implementation as UntypedSessionImplementation<CallbackContext>;
      return invokeMethod(spec, implementation, call.request, { signal, deadline, session: this });
    });
  }

  #send(frame: OpenRequest): void {
    if (!this.#peer.ended) void this.#stream.send(frame);
  }

  #finish(reason: ClientError): void {
    this.#peer.end(reason);
    this.#end(this.#peer.ended!);
  }

  /** Until the session ends (or `close()` is called). */
  get isOpen(): boolean {
    return !this.#peer.ended;
  }

  /** Whether the client ended the session itself. */
  get closing(): boolean {
    return this.#closing;
  }
}

const lost = "its objects are gone: a session is not moved to another server, since their state lived there";

/** Why the stream failed, as the calls still in flight see it: UNAVAILABLE unless the server refused it. */
function streamError(error: unknown, session: Session): ClientError {
  if (session.closing)
    return new ClientError(status.CANCELLED, "the session was closed", { server: session.address });
  const refused: number[] = [
    status.UNAUTHENTICATED,
    status.PERMISSION_DENIED,
    status.UNIMPLEMENTED,
    status.INVALID_ARGUMENT,
  ];
  const seen = ClientError.from(error, session.address);
  if (refused.includes(seen.code) || seen.code === status.RESOURCE_EXHAUSTED) return seen;
  return new ClientError(
    status.UNAVAILABLE,
    `the session with ${session.address} ended (${seen.details}); ${lost}`,
    {
      server: session.address,
      cause: error,
    },
  );
}

function serverEnded(session: Session): ClientError {
  if (session.closing)
    return new ClientError(status.CANCELLED, "the session was closed", { server: session.address });
  return new ClientError(status.UNAVAILABLE, `the server ${session.address} ended the session; ${lost}`, {
    server: session.address,
  });
}

/**
 * A callback's failure as the server's method sees it: a ServerError or ClientError keeps its code,
 * message and details, an abort is CANCELLED, anything else UNKNOWN with its message (as grpc-js
 * reports a handler's plain Error).
 */
function callbackStatus(error: unknown): ReplyStatus {
  if (error instanceof ServerError || error instanceof ClientError) {
    const message = error instanceof ClientError ? error.details : error.message;
    const details = error.errorDetails;
    return {
      code: error.code,
      message,
      statusDetails: Object.keys(details).length > 0 ? encodeStatus(error.code, message, details) : empty,
    };
  }
  const e = error as Error | undefined;
  if (e?.name === "AbortError") return { code: status.CANCELLED, message: "cancelled", statusDetails: empty };
  return { code: status.UNKNOWN, message: e?.message ?? String(error), statusDetails: empty };
}
