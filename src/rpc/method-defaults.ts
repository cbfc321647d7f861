import type { Idempotency, MethodSpec } from "./method-spec.js";

/** What a call of a method does when its caller says nothing. */
export interface MethodPolicy {
  /** Deadline in milliseconds; Infinity for none. */
  timeoutMs: number;
  /**
   * Whether a call whose server failed may run again on another server. Defaults to what the
   * proto says (`idempotency_level` IDEMPOTENT or NO_SIDE_EFFECTS).
   */
  retry: boolean;
}

/** Deadlines by the shape of a call: a unary call that takes a minute is stuck; a table may take minutes. */
const byShape = {
  unary: 60_000,
  clientStream: 10 * 60_000,
  // Streams that answer as they go (sessions) live as long as their caller wants.
  responseStream: Number.POSITIVE_INFINITY,
};

/**
 * The one table of per-method defaults: deadline and whether to retry, by the call's shape and
 * the method's proto options, with overrides by full path ("/pkg.Service/Method") for methods
 * that know better (a CPU demo that runs for minutes).
 */
export class MethodDefaults {
  constructor(readonly overrides: Readonly<Record<string, Partial<MethodPolicy>>> = {}) {}

  policy(method: MethodSpec): MethodPolicy {
    const shape = method.responseStream ? "responseStream" : method.requestStream ? "clientStream" : "unary";
    return {
      timeoutMs: byShape[shape],
      retry: method.idempotency !== "UNKNOWN",
      ...this.overrides[method.path],
    };
  }

  /**
   * Whether a call of `path` that may have reached its server may run again on another: an
   * override's `retry` if there is one, else what the proto says.
   */
  retries(path: string, idempotency: Idempotency): boolean {
    return this.overrides[path]?.retry ?? idempotency !== "UNKNOWN";
  }

  /** A table with more overrides on top of these. */
  with(overrides: Readonly<Record<string, Partial<MethodPolicy>>>): MethodDefaults {
    return new MethodDefaults({ ...this.overrides, ...overrides });
  }
}
