import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import type { CallSpan, MethodStats } from "../gen/rpcpool/pool/v1/stats.js";
import type { MethodSpec } from "../rpc/method-spec.js";

/**
 * Paths that are not work, and are not counted: asking what a server is (Info) or has done (Stats)
 * must not move the figures it reads, and a batch (Invoke) is counted by its items, each under its
 * own method, as if it had been called alone (the items run through the same wrapped handlers).
 * Health and reflection are never wrapped (they are added beside the hosted services).
 */
const notCounted = new Set([
  "/rpcpool.pool.v1.InfoService/Info",
  "/rpcpool.pool.v1.StatsService/Stats",
  "/rpcpool.pool.v1.BatchService/Invoke",
]);

/** The window of latencies and of the task stream: the last minute. */
export const windowMs = 60_000;
/** Spans kept for the window: a bound on memory for a server answering thousands of calls a second. */
const maxSpans = 20_000;
/** Spans sent in one Stats reply: the newest. */
const maxSpansSent = 2_000;
/** calls/s is over this many seconds: recent enough to move, long enough not to flicker. */
const rateWindowMs = 10_000;

/**
 * Counters of the calls a server finished, kept by the server itself for StatsService: totals since
 * start, and the last minute's calls one by one (method, start, end, lane, code) for percentiles,
 * the call rate and the dashboard's task stream. A call's lane is the lowest free one when it
 * starts: as many lanes as calls ran at once (a worker thread's own id is not known to the handler).
 */
export class CallStats {
  #completed = 0;
  #failed = 0;
  #inFlight = 0;
  readonly #byMethod = new Map<string, { completed: number; failed: number }>();
  readonly #lanes: boolean[] = [];
  #spans: CallSpan[] = [];

  get completed(): number {
    return this.#completed;
  }

  get failed(): number {
    return this.#failed;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Starts counting one call; the function returned ends it with its status code (once). A batch
   * gives its own start for all its items (`startUnixMs`): one clock read per batch, not one per
   * item, as its metrics time each item from the batch's start too.
   */
  begin(method: string, startUnixMs = Date.now()): (code: number) => void {
    let lane = this.#lanes.indexOf(false);
    if (lane < 0) lane = this.#lanes.length;
    this.#lanes[lane] = true;
    this.#inFlight++;
    let open = true;
    return (code) => {
      if (!open) return;
      open = false;
      this.#inFlight--;
      this.#lanes[lane] = false;
      const counts = this.#byMethod.get(method) ?? { completed: 0, failed: 0 };
      this.#byMethod.set(method, counts);
      if (code === 0) {
        this.#completed++;
        counts.completed++;
      } else {
        this.#failed++;
        counts.failed++;
      }
      this.#spans.push({ method, startUnixMs, endUnixMs: Date.now(), lane, code });
      if (this.#spans.length > maxSpans * 2) this.#spans = this.#spans.slice(-maxSpans);
    };
  }

  /**
   * The service's handlers, each counted when it answers: unary and client-streaming ones when
   * they call back, streaming ones when they end the stream, fail or are cancelled.
   */
  wrap(methods: Record<string, MethodSpec>, implementation: UntypedServiceImplementation) {
    const wrapped: UntypedServiceImplementation = { ...implementation };
    for (const [name, spec] of Object.entries(methods)) {
      const key = name in implementation ? name : (spec.originalName ?? name);
      const handler = implementation[key] as unknown as Handler | undefined;
      if (typeof handler !== "function" || notCounted.has(spec.path)) continue;
      const counted: Handler = spec.responseStream
        ? (call) => handler(this.#watchStream(spec.path, call as StreamCall))
        : (call, callback) => {
            const end = this.begin(spec.path);
            handler(call, (error, value) => {
              end(error ? codeOf(error) : 0);
              callback!(error, value);
            });
          };
      wrapped[key] = counted as unknown as UntypedServiceImplementation[string];
    }
    return wrapped;
  }

  /** A streaming call whose end (end(), an 'error' status, or cancellation) ends its count. */
  #watchStream(method: string, call: StreamCall): StreamCall {
    const end = this.begin(method);
    const originalEnd = call.end.bind(call);
    const originalEmit = call.emit.bind(call);
    call.end = (...args: unknown[]) => {
      end(0);
      return originalEnd(...args);
    };
    call.emit = (event: string | symbol, ...args: unknown[]) => {
      if (event === "error") end(codeOf(args[0]));
      return originalEmit(event, ...args);
    };
    call.once("cancelled", () => end(1));
    return call;
  }

  /** Figures over the last minute: per method, all together, the rate, and the spans themselves. */
  window(now = Date.now()) {
    const from = now - windowMs;
    let first = this.#spans.findIndex((span) => span.endUnixMs >= from);
    if (first < 0) first = this.#spans.length;
    if (first > 0) this.#spans = this.#spans.slice(first);
    const spans = this.#spans;
    const latencies = new Map<string, number[]>();
    const all: number[] = [];
    for (const span of spans) {
      const ms = span.endUnixMs - span.startUnixMs;
      all.push(ms);
      const list = latencies.get(span.method) ?? [];
      list.push(ms);
      latencies.set(span.method, list);
    }
    const methods: MethodStats[] = [...this.#byMethod].map(([method, counts]) => {
      const list = latencies.get(method) ?? [];
      return { method, ...counts, p50Ms: percentile(list, 0.5), p95Ms: percentile(list, 0.95) };
    });
    const recentCalls = spans.filter((span) => span.endUnixMs >= now - rateWindowMs).length;
    return {
      methods,
      p50Ms: percentile(all, 0.5),
      p95Ms: percentile(all, 0.95),
      callsPerSecond: recentCalls / (rateWindowMs / 1000),
      recent: spans.slice(-maxSpansSent),
    };
  }
}

type Handler = (call: unknown, callback?: (error: unknown, value?: unknown) => void) => void;

/** What of a grpc-js streaming call the count hooks: its end, its 'error' status, its cancellation. */
interface StreamCall {
  end: (...args: unknown[]) => unknown;
  emit: (event: string | symbol, ...args: unknown[]) => boolean;
  once(event: string, listener: () => void): unknown;
}

/** A status's code (2, UNKNOWN, when it has none). */
function codeOf(error: unknown): number {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : 2;
}

/** The nearest-rank percentile of `values` (0 when there are none). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}
