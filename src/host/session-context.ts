import type { Metadata } from "@grpc/grpc-js";
import type { AnyServiceDefinition } from "../rpc/method-spec.js";
import type { SessionCaller, UntypedSessionImplementation } from "../rpc/session-methods.js";

/**
 * What a session class's code sees of its session (docs/sessions.md): the client at the other end
 * of the stream, and the services it exposed for callbacks.
 */
export interface SessionContext {
  /** The metadata the client opened the session with. */
  readonly metadata: Metadata;
  readonly peer: string;
  /**
   * A typed client of a callback service the client exposes in this session (a service of the
   * user's proto, implemented by the client): `callbacks(ProgressServiceDefinition).call("report",
   * { done: 3 })`. Its calls go over the session's stream and are awaited like any call; a service
   * the client does not expose answers UNIMPLEMENTED. Errors are ClientErrors with the client's
   * code; thrown on out of a method, they reach the method's caller with that code.
   */
  callbacks<D extends AnyServiceDefinition>(definition: D): SessionCaller<D>;
  /** Whether the client exposes a service (an optional callback, such as progress reports). */
  exposes(definition: AnyServiceDefinition): boolean;
}

/** What one object of a session class gets when it is made. */
export interface ObjectContext extends SessionContext {
  /** Its id in the session. */
  readonly id: number;
  /**
   * Aborted when the object is released: by the client, or because the session ended (the client
   * closed it, went away, or the server is shutting down). Hook clean-up here. Callbacks called
   * through this context are cancelled with it and have no deadline.
   */
  readonly signal: AbortSignal;
}

/** What a method of an object gets besides its request. */
export interface SessionCallContext extends SessionContext {
  /**
   * Aborted when the client cancels the call, its deadline passes, the object is released or the
   * session ends. Callbacks called through this context are cancelled with the call, and their
   * deadline is the call's unless their options say otherwise (as gRPC passes deadlines on).
   */
  readonly signal: AbortSignal;
  /** Epoch milliseconds; Infinity when the client set none. */
  readonly deadline: number;
  /** The object whose method this is. */
  readonly object: ObjectContext;
}

/**
 * A session class: for each object a client creates, the methods of that object (keyed as the
 * definition keys them, e.g. `addTable`), as async functions of the request and the call's context.
 * Whatever they close over (or an instance's fields: a class instance works, its methods called
 * with `this` the instance) is the object's state. A method named `Init`
 * in the proto is the constructor: the client calls it when it creates the object.
 */
export type SessionClassFactory = (
  object: ObjectContext,
  // `object` too: a class instance has its methods on its prototype, without an index signature.
) => UntypedSessionImplementation<SessionCallContext> | object;
