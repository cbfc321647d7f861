import type { Context, Span } from "@opentelemetry/api";
import { ClientError } from "../rpc/client-error.js";
import { endSpan, startInternalSpan, tracingOn, withContext } from "../tracing/spans.js";

/** A call waiting for its turn: its request and how to settle it. */
interface Waiting<Req, Res> {
  request: Req;
  resolve: (value: Res) => void;
  reject: (error: ClientError) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
  /** Its span, child of the caller's (with tracing): it leaves in a batch made elsewhere. */
  traced?: { span: Span; context: Context };
}

/** What a coalesced call needs: the plain call, the batched call, and how many may be in flight. */
export interface CoalescedMethod<Req, Res> {
  /** One call on its own (the engine picks the server). */
  direct(request: Req, signal?: AbortSignal): Promise<Res>;
  /** Many calls in one BatchService round trip; one settled value or error per request, in order. */
  batch(requests: Req[]): Promise<Array<{ ok: true; value: Res } | { ok: false; error: ClientError }>>;
  /** Round trips of this method that may be in flight at once before later calls wait (and coalesce). */
  limit(): number;
  /**
   * The fewest round trips kept in flight when calls are few (one per worker thread of the pool):
   * more, up to `limit`, only while each can carry `fullBatch` calls. Without it, always `limit`.
   */
  least?(): number;
  /** The method's path, for the span of each call that waits (docs/observability.md, Traces). */
  path?: string;
}

/** Most calls one coalesced round trip carries. */
const maxBatch = 1000;

/**
 * Calls a batch should carry before another round trip is opened beyond `least`: each round trip
 * costs both sides about what 10-20 tiny items cost (its HTTP/2 stream, headers, the engine's
 * run), so 64 calls on two servers go as two batches of 32, not four of 16 (docs/performance.md).
 */
export const fullBatch = 32;

/**
 * Coalesces concurrent calls of one unary method without changing the caller's code. A call alone
 * (nothing in flight, nothing waiting) never waits, so its latency is a plain call's. Any other
 * call waits for the end of the current turn of the event loop (Nagle-like: a setImmediate), so
 * that the calls made in the same turn (typically the callers of a batch that just came back,
 * calling again) leave together; what waits then goes, while fewer than `limit` round trips are
 * in flight, split evenly over the free places, each part to the least busy server in one
 * BatchService round trip (each item with its own status). Sending at the end of the turn rather
 * than at the moment a round trip ends keeps two full batches in flight: one on the server while
 * the other travels or is answered here (sent at once, the room went to a lone call and the rest
 * waited a whole round trip, so client and server each idled half the time).
 * A waiting call whose signal aborts leaves at once with CANCELLED.
 */
export class CallCoalescer<Req, Res> {
  #inFlight = 0;
  /** Calls in the round trips in flight (a batch counts its items). */
  #inFlightCalls = 0;
  readonly #waiting: Waiting<Req, Res>[] = [];
  /** A flush is due at the end of this turn of the event loop. */
  #flushDue = false;

  constructor(readonly method: CoalescedMethod<Req, Res>) {}

  call(request: Req, signal?: AbortSignal): Promise<Res> {
    if (signal?.aborted) return Promise.reject(ClientError.fromAbort(signal));
    if (this.#inFlight === 0 && this.#waiting.length === 0 && !this.#flushDue) {
      return this.#track(this.method.direct(request, signal));
    }
    return new Promise<Res>((resolve, reject) => {
      const waiting: Waiting<Req, Res> = { request, resolve, reject, signal };
      if (tracingOn()) {
        // Each call keeps a span of its own in its caller's trace, whatever batch it travels in.
        waiting.traced = startInternalSpan(`${(this.method.path ?? "call").slice(1)} (coalesced)`);
        const traced = waiting.traced;
        waiting.resolve = (value) => {
          endSpan(traced.span);
          resolve(value);
        };
        waiting.reject = (error) => {
          endSpan(traced.span, error);
          reject(error);
        };
      }
      if (signal) {
        waiting.onAbort = () => {
          const at = this.#waiting.indexOf(waiting);
          if (at >= 0) this.#waiting.splice(at, 1);
          reject(ClientError.fromAbort(signal));
        };
        signal.addEventListener("abort", waiting.onAbort, { once: true });
      }
      this.#waiting.push(waiting);
      this.#flushSoon();
    });
  }

  /** Flushes at the end of this turn, once however many calls or ends ask for it. */
  #flushSoon(): void {
    if (this.#flushDue || this.#inFlight >= this.#places()) return;
    this.#flushDue = true;
    setImmediate(() => {
      this.#flushDue = false;
      this.#flush();
    });
  }

  /**
   * Round trips to keep in flight now: `least`, and one more per `fullBatch` calls outstanding (in
   * flight or waiting), up to `limit`. Fewer, fuller batches cost less CPU per call on both sides.
   */
  #places(): number {
    const most = this.method.limit();
    if (!this.method.least) return most;
    const least = Math.min(most, this.method.least());
    const outstanding = this.#inFlightCalls + this.#waiting.length;
    return Math.min(most, Math.max(least, Math.floor(outstanding / fullBatch)));
  }

  #track<T>(call: Promise<T>, calls = 1): Promise<T> {
    this.#inFlight++;
    this.#inFlightCalls += calls;
    const done = () => {
      this.#inFlight--;
      this.#inFlightCalls -= calls;
      if (this.#waiting.length > 0) this.#flushSoon();
    };
    call.then(done, done);
    return call;
  }

  /** Sends what waits, in batches of even sizes over the free places. */
  #flush(): void {
    const places = this.#places();
    const free = places - this.#inFlight;
    if (free <= 0 || this.#waiting.length === 0) return;
    // With `least`, each round trip takes its even share of all the calls outstanding, in flight
    // included: from idle, a lone call and 63 waiting on 2 places go as 1 + 32, and the other 31
    // leave with the lone call's caller (32 + 32), not as 63 beside 1 (one server full, the other
    // idle, a split that a burst of calls kept to its end). Without it, what waits fills the free places.
    const share = this.method.least
      ? Math.ceil((this.#inFlightCalls + this.#waiting.length) / places)
      : Math.ceil(this.#waiting.length / free);
    const size = Math.min(maxBatch, share);
    while (this.#waiting.length > 0 && this.#inFlight < places) {
      const group = this.#waiting.splice(0, size);
      for (const waiting of group) {
        if (waiting.onAbort) waiting.signal!.removeEventListener("abort", waiting.onAbort);
      }
      // The round trip runs in its first call's context (its span the parent of the call's span),
      // not in that of the call whose end made room; the others' spans link to the first's.
      const first = group[0]!.traced;
      const within = <T>(fn: () => T): T => (first ? withContext(first.context, fn) : fn());
      if (group.length === 1) {
        const [only] = group;
        this.#track(within(() => this.method.direct(only!.request, only!.signal))).then(
          only!.resolve,
          (error) => only!.reject(ClientError.from(error)),
        );
        continue;
      }
      if (first) {
        for (const waiting of group) {
          waiting.traced?.span.setAttribute("rpcpool.batch.items", group.length);
          if (waiting.traced !== first) waiting.traced?.span.addLink({ context: first.span.spanContext() });
        }
      }
      this.#track(
        within(() => this.method.batch(group.map((w) => w.request))),
        group.length,
      ).then(
        (results) =>
          results.forEach((result, i) => {
            const waiting = group[i]!;
            if (waiting.signal?.aborted) waiting.reject(ClientError.fromAbort(waiting.signal));
            else if (result.ok) waiting.resolve(result.value);
            else waiting.reject(result.error);
          }),
        (error) => {
          for (const waiting of group) waiting.reject(ClientError.from(error));
        },
      );
    }
  }
}

/**
 * A pool's coalescers, one per method and per everything that changes what a call does: the
 * options in `key`, and the reply check by identity (a function has no text to put in a key).
 * Calls of clients whose checks differ never share a coalescer, so never each other's result.
 */
export class Coalescers {
  readonly #byKey = new Map<string, Map<unknown, CallCoalescer<unknown, unknown>>>();

  get(
    key: string,
    check: unknown,
    make: () => CallCoalescer<unknown, unknown>,
  ): CallCoalescer<unknown, unknown> {
    let byCheck = this.#byKey.get(key);
    if (!byCheck) {
      byCheck = new Map();
      this.#byKey.set(key, byCheck);
    }
    let coalescer = byCheck.get(check);
    if (!coalescer) {
      coalescer = make();
      byCheck.set(check, coalescer);
    }
    return coalescer;
  }
}
