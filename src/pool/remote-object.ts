import { ClientError } from "../rpc/client-error.js";
import { Status as status } from "../rpc/grpc-status.js";
import type { AnyServiceDefinition, MethodSpec } from "../rpc/method-spec.js";
import { type SessionCaller, type SessionCallOptions, sessionCaller } from "../rpc/session-methods.js";

/** How an object reaches its session: its calls and its release. */
export interface ObjectLink {
  call(spec: MethodSpec, request: Buffer, options: SessionCallOptions): Promise<Buffer>;
  release(options: SessionCallOptions): Promise<void>;
  /** Whether the session has ended (its objects are gone with it). */
  ended(): boolean;
}

/**
 * An object of a session class, living on the session's server (RPyC's netref): its methods are
 * the class's methods in the user's proto, typed by their messages, `await object.call("add",
 * request, { signal, timeoutMs })`; its state stays on the server between calls until `release()`
 * or the session's end.
 */
export class RemoteObject<D extends AnyServiceDefinition> implements SessionCaller<D> {
  #released = false;
  /** The release in flight: calls are refused meanwhile, but the object is not gone until the server says so. */
  #releasing: Promise<void> | undefined;
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
      if (this.#released || this.#releasing) {
        return Promise.reject(
          new ClientError(status.FAILED_PRECONDITION, `object ${id} (${className}) was released`),
        );
      }
      return link.call(spec, request, options);
    });
  }

  /** Whether the server has released it (or the session ended): true once `release()` has resolved. */
  get released(): boolean {
    return this.#released;
  }

  call: SessionCaller<D>["call"] = (method, request, options) => this.#caller.call(method, request, options);

  /**
   * Releases the object on the server (its calls in flight end with CANCELLED); calls made from
   * now on reject at once. Resolves once the server has released it; releasing again meanwhile
   * waits for the same answer, and after that (or after the session ended) does nothing. A release
   * that fails while the session lives (its signal, its deadline) rejects and leaves the object
   * alive on the server, usable again: release it again later.
   */
  release(options: SessionCallOptions = {}): Promise<void> {
    if (this.#released) return Promise.resolve();
    this.#releasing ??= this.#release(options).finally(() => {
      this.#releasing = undefined;
    });
    return this.#releasing;
  }

  async #release(options: SessionCallOptions): Promise<void> {
    try {
      await this.#link.release(options);
    } catch (error) {
      // Gone already: with its session, or by an earlier release whose answer was lost.
      const gone = this.#link.ended() || (error instanceof ClientError && error.code === status.NOT_FOUND);
      if (!gone) throw error;
    }
    this.#released = true;
  }
}
