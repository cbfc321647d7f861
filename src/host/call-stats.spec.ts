import { EventEmitter } from "node:events";
import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import type { MethodSpec } from "../rpc/method-spec.js";
import { CallStats, percentile } from "./call-stats.js";

const spec = (path: string, responseStream = false) =>
  ({ path, responseStream, requestStream: false }) as unknown as MethodSpec;

describe("CallStats", () => {
  it("gives each call the lowest lane free when it starts", () => {
    const stats = new CallStats();
    const a = stats.begin("/s/A");
    const b = stats.begin("/s/A");
    a(0);
    const c = stats.begin("/s/B");
    b(0);
    c(13);
    c(0); // ending twice counts once
    const { recent } = stats.window();
    expect(recent.map((span) => [span.method, span.lane, span.code])).toEqual([
      ["/s/A", 0, 0],
      ["/s/A", 1, 0],
      ["/s/B", 0, 13],
    ]);
    expect([stats.completed, stats.failed, stats.inFlight]).toEqual([2, 1, 0]);
  });

  it("starts a span when its caller says (a batch gives its start to every item)", () => {
    const stats = new CallStats();
    const batchStart = Date.now() - 5;
    stats.begin("/s/A", batchStart)(0);
    stats.begin("/s/A", batchStart)(3);
    const { recent } = stats.window();
    expect(recent.map((span) => span.startUnixMs)).toEqual([batchStart, batchStart]);
    expect(recent.every((span) => span.endUnixMs >= batchStart + 5)).toBe(true);
    expect([stats.completed, stats.failed]).toEqual([1, 1]);
  });

  it("forgets spans older than a minute for the percentiles, not for the totals", () => {
    const stats = new CallStats();
    stats.begin("/s/A")(0);
    const later = stats.window(Date.now() + 61_000);
    expect(later.recent).toEqual([]);
    expect(later.methods).toEqual([{ method: "/s/A", completed: 1, failed: 0, p50Ms: 0, p95Ms: 0 }]);
  });

  it("counts wrapped handlers by their answer, Info, Stats and Invoke never", () => {
    const stats = new CallStats();
    const methods = {
      work: spec("/s/Work"),
      info: spec("/rpcpool.pool.v1.InfoService/Info"),
      watch: spec("/s/Watch", true),
    };
    const wrapped = stats.wrap(methods, {
      work: (_call: unknown, callback: (e: unknown, v?: unknown) => void) => callback({ code: 5 }),
      info: (_call: unknown, callback: (e: unknown, v?: unknown) => void) => callback(null, {}),
      watch: (call: EventEmitter & { end(): void }) => call.end(),
    } as unknown as UntypedServiceImplementation) as Record<string, (...args: unknown[]) => void>;
    wrapped.work!({}, () => {});
    wrapped.info!({}, () => {});
    const call = Object.assign(new EventEmitter(), { end: () => {} });
    wrapped.watch!(call);
    expect(stats.window().recent.map((span) => [span.method, span.code])).toEqual([
      ["/s/Work", 5],
      ["/s/Watch", 0],
    ]);
  });

  it("takes nearest-rank percentiles", () => {
    expect(percentile([], 0.5)).toBe(0);
    expect(percentile([3, 1, 2], 0.5)).toBe(2);
    expect(
      percentile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        0.95,
      ),
    ).toBe(95);
  });
});
