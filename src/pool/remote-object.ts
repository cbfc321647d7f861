import { ClientError } from "../rpc/client-error.js";
import { Status as status } from "../rpc/grpc-status.js";
import type { AnyServiceDefinition, MethodSpec } from "../rpc/method-spec.js";
import { type SessionCaller, type SessionCallOptions, sessionCaller } from "../rpc/session-methods.js";

/** How an object reaches its session: its calls and its release. */
export interface ObjectLink {
  call(spec: MethodSpec, request: Buffer, options: SessionCallOptions): Promise<Buffer>;
  release(options: SessionCallOptions): Promise<void>;
}

/**
 * An object of a session class, living on the session's server (RPyC's netref): its methods are
 * the class's methods in the user's proto, typed by their messages, `await object.call("add",
 * request, { signal, timeoutMs })`; its state stays on the server between calls until `release()`
 * or the session's end.
 */
export class RemoteObject<D extends AnyServiceDefinition> implements SessionCaller<D> {
  #released = false;
  readonly #link: ObjectLink;
  readonly #caller: SessionCaller<D>;

  constructor(
    definition: D,
    /** Its id in the session. */
    readonly id: number,
    /** The session class's full name. */
    readonly className: string,
    link: ObjectLink,
  ) {
    this.#link = link;
    this.#caller = sessionCaller(definition, (spec, request, options) => {
      if (this.#released) {
        return Promise.reject(
          new ClientError(status.FAILED_PRECONDITION, `object ${id} (${className}) was released`),
        );
      }
      return link.call(spec, request, options);
    });
  }

  get released(): boolean {
    return this.#released;
  }

  call: SessionCaller<D>["call"] = (method, request, options) => this.#caller.call(method, request, options);

  /**
   * Releases the object on the server (its calls in flight end with CANCELLED); later calls reject
   * at once. Releasing again, or after the session ended, does nothing.
   */
  async release(options: SessionCallOptions = {}): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    try {
      await this.#link.release(options);
    } catch (error) {
      // An object whose session has ended is gone already; anything else is worth knowing.
      const gone =
        error instanceof ClientError &&
        (error.code === status.UNAVAILABLE || error.code === status.CANCELLED);
      if (!gone) throw error;
    }
  }
}
