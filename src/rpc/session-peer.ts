import type { SessionCall, SessionCancel, SessionReply } from "../gen/rpcpool/pool/v1/session.js";
import { onAbort } from "./abort-listeners.js";
import { ClientError } from "./client-error.js";
import { Status as status } from "./grpc-status.js";
import { decodeStatus } from "./status-details.js";

/**
 * One end of a session (rpcpool.pool.v1.SessionService, docs/sessions.md). A session is symmetric:
 * each end calls the other (the client an object's methods, the server the client's callbacks)
 * and answers the other's calls, all multiplexed over one stream by call id. This is what both ends
 * share: the calls it made and awaits, the calls it serves, their deadlines and cancellation, and
 * what happens to all of them when the stream ends.
 */

/** The frames both directions carry: a call, a reply, a cancel. */
export interface CallFrames {
  call?: SessionCall;
  reply?: SessionReply;
  cancel?: SessionCancel;
}

/** A failure as it travels back in a reply. */
export interface ReplyStatus {
  code: number;
  message: string;
  /** A serialized google.rpc.Status, or empty. */
  statusDetails: Buffer;
}

export interface OutgoingOptions {
  /** Aborting gives the call up: it rejects with CANCELLED and the other end's work is cancelled. */
  signal?: AbortSignal;
  /** Milliseconds to wait; Infinity (or undefined) for no deadline. */
  timeoutMs?: number;
}

/** What a served call's work gets. */
export interface Served {
  /** Aborted when the caller cancels, the deadline passes, or the session ends. */
  signal: AbortSignal;
  /** Epoch milliseconds; Infinity for none. */
  deadline: number;
}

export interface PeerOptions<Out> {
  /** Writes a frame to the stream. */
  send(frame: Out): void;
  /** The other end, as errors name it (a server's address, or a client's peer). */
  remote: string;
  /** A failure of the work of a served call, as its reply says it. */
  statusOf(error: unknown): ReplyStatus;
  /** Told when a served call settles (for counting and draining). */
  onServedSettled?(): void;
}

interface Outgoing {
  resolve(response: Buffer): void;
  reject(error: ClientError): void;
}

const empty = Buffer.alloc(0);

export class SessionPeer<Out extends CallFrames> {
  #nextId = 1;
  readonly #outgoing = new Map<number, Outgoing>();
  readonly #served = new Map<number, AbortController>();
  #ended: ClientError | undefined;

  constructor(readonly options: PeerOptions<Out>) {}

  /** Why the session ended, once it has. */
  get ended(): ClientError | undefined {
    return this.#ended;
  }

  /** Calls of the other end this end is serving now. */
  get serving(): number {
    return this.#served.size;
  }

  /** Calls of this end awaiting their replies. */
  get awaiting(): number {
    return this.#outgoing.size;
  }

  /** Calls a method of the other end: `objectId` 0 for a callback. Resolves with the response bytes. */
  call(method: string, objectId: number, request: Buffer, options: OutgoingOptions = {}): Promise<Buffer> {
    return this.request(
      (id, timeoutMs) => ({ call: { id, method, objectId, request, timeoutMs } }) as Out,
      options,
    );
  }

  /**
   * Sends a frame made for a fresh call id and awaits the reply with that id: a call, or a frame of
   * one end's own that is answered like one (a create, a release). Rejects with a ClientError: the
   * reply's status, CANCELLED when the signal aborts, DEADLINE_EXCEEDED when the time is up, or why
   * the session ended.
   */
  request(frame: (id: number, timeoutMs: number) => Out, options: OutgoingOptions = {}): Promise<Buffer> {
    const { signal } = options;
    const remote = this.options.remote;
    if (this.#ended) return Promise.reject(this.#ended);
    if (signal?.aborted) return Promise.reject(ClientError.fromAbort(signal, remote));
    const id = this.#nextId++;
    const timeoutMs = options.timeoutMs ?? Number.POSITIVE_INFINITY;
    return new Promise<Buffer>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let unhook: (() => void) | undefined;
      const done = () => {
        this.#outgoing.delete(id);
        clearTimeout(timer);
        unhook?.();
      };
      const giveUp = (error: ClientError) => {
        done();
        this.#send({ cancel: { id } } as Out);
        reject(error);
      };
      const abort = () => giveUp(ClientError.fromAbort(signal!, remote));
      this.#outgoing.set(id, {
        resolve: (response) => {
          done();
          resolve(response);
        },
        reject: (error) => {
          done();
          reject(error);
        },
      });
      if (signal) unhook = onAbort(signal, abort);
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(
          () =>
            giveUp(
              new ClientError(status.DEADLINE_EXCEEDED, `deadline exceeded after ${timeoutMs} ms`, {
                server: remote,
              }),
            ),
          Math.max(0, timeoutMs),
        );
      }
      this.#send(frame(id, Number.isFinite(timeoutMs) ? Math.max(1, Math.ceil(timeoutMs)) : 0));
    });
  }

  /**
   * Serves a call of the other end: runs `work` with a signal of its own and sends its reply (the
   * response bytes, or the status of what it threw). A cancel from the caller or the deadline aborts
   * the signal; the caller has given up then, so no reply is sent.
   */
  serve(id: number, timeoutMs: number, work: (served: Served) => Promise<Buffer>): void {
    if (this.#ended) return;
    if (this.#served.has(id)) {
      this.#reply(id, undefined, {
        code: status.INVALID_ARGUMENT,
        message: `call id ${id} is already in flight in this session`,
        statusDetails: empty,
      });
      return;
    }
    const controller = new AbortController();
    this.#served.set(id, controller);
    let timer: NodeJS.Timeout | undefined;
    if (timeoutMs > 0) {
      timer = setTimeout(
        () => controller.abort(new DOMException("deadline exceeded", "AbortError")),
        timeoutMs,
      );
    }
    const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Number.POSITIVE_INFINITY;
    // The call leaves the calls served (and the count of them that limits admission) when it is
    // answered or when it is given up (a cancel, its deadline, the session's end): its caller has
    // stopped waiting then, even if its work takes a while to see its signal.
    let open = true;
    const close = () => {
      if (!open) return;
      open = false;
      clearTimeout(timer);
      controller.signal.removeEventListener("abort", close);
      if (this.#served.get(id) === controller) this.#served.delete(id);
      this.options.onServedSettled?.();
    };
    controller.signal.addEventListener("abort", close, { once: true });
    const settle = (response: Buffer | undefined, failure?: ReplyStatus) => {
      if (!open) return;
      this.#reply(id, response, failure);
      close();
    };
    let running: Promise<Buffer>;
    try {
      running = work({ signal: controller.signal, deadline });
    } catch (error) {
      running = Promise.reject(error);
    }
    running.then(
      (response) => settle(response),
      (error: unknown) => settle(undefined, this.options.statusOf(error)),
    );
  }

  /** Takes a reply or a cancel of the other end; false for frames that are not these. */
  receive(frame: CallFrames): boolean {
    if (frame.reply) {
      const { id, code, message, response, statusDetails } = frame.reply;
      const pending = this.#outgoing.get(id);
      // A reply to a call already given up (cancelled, timed out) is dropped.
      if (!pending) return true;
      if (code === status.OK) pending.resolve(response);
      else pending.reject(replyError(code, message, statusDetails, this.options.remote));
      return true;
    }
    if (frame.cancel) {
      this.#served.get(frame.cancel.id)?.abort(new DOMException("cancelled by the caller", "AbortError"));
      return true;
    }
    return false;
  }

  /**
   * Ends this end of the session: every call it awaits rejects with `reason`, every call it serves
   * has its signal aborted (their replies would have nowhere to go), and nothing more is sent.
   */
  end(reason: ClientError): void {
    if (this.#ended) return;
    this.#ended = reason;
    for (const pending of [...this.#outgoing.values()]) pending.reject(reason);
    for (const controller of [...this.#served.values()]) {
      controller.abort(new DOMException(`the session ended: ${reason.message}`, "AbortError"));
    }
  }

  #reply(id: number, response: Buffer | undefined, failure?: ReplyStatus): void {
    const reply: SessionReply = failure
      ? {
          id,
          response: empty,
          code: failure.code,
          message: failure.message,
          statusDetails: failure.statusDetails,
        }
      : { id, response: response ?? empty, code: status.OK, message: "", statusDetails: empty };
    this.#send({ reply } as Out);
  }

  #send(frame: Out): void {
    if (!this.#ended) this.options.send(frame);
  }
}

/** A frame's bytes on the wire, near enough for bounding what waits to be sent (either direction). */
export function frameBytes(frame: CallFrames): number {
  const { reply, call } = frame;
  if (reply) return 32 + reply.response.length + reply.message.length + reply.statusDetails.length;
  if (call) return 32 + call.request.length + call.method.length;
  return 32;
}

/** A reply's failure as the ClientError its caller sees, with its standard details decoded. */
function replyError(code: number, message: string, statusDetails: Buffer, remote: string): ClientError {
  let errorDetails: ReturnType<typeof decodeStatus>["details"] | undefined;
  try {
    errorDetails = statusDetails.length > 0 ? decodeStatus(statusDetails).details : undefined;
  } catch {
    // Malformed details must not hide the status they came with.
  }
  return new ClientError(code, message, { server: remote, errorDetails });
}
