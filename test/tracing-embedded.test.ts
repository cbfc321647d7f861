import { context, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-node";
import { Pool } from "rpcpool";
import { ComputeServiceDefinition } from "rpcpool/lesson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { until } from "./support/waits.js";

// A program that embeds the pool and registers its own SDK (here, spans kept in memory): the
// pool's spans join its traces. The registration is this test file's process only.
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const servers = useServers(1);
let pool: Pool;
beforeAll(async () => {
  provider.register();
  pool = await Pool.connect(servers.servers.map((s) => s.address));
});
afterAll(async () => {
  await pool.close();
  await provider.shutdown();
  trace.disable();
  context.disable();
});

describe("coalesced calls", () => {
  it("keep one span each in the caller's trace; their round trip is a child of the first's", async () => {
    const compute = pool.service(ComputeServiceDefinition);
    const calls = 120;
    const root = trace.getTracer("test").startSpan("caller");
    const replies = await context.with(trace.setSpan(context.active(), root), () =>
      Promise.all(
        Array.from({ length: calls }, (_, i) => compute.apply("means", { lists: [{ values: [i, i + 2] }] })),
      ),
    );
    root.end();
    expect(replies.map((r) => r.means[0])).toEqual(Array.from({ length: calls }, (_, i) => i + 1));

    const spans = exporter.getFinishedSpans();
    const rootId = root.spanContext().spanId;
    const parentOf = (s: (typeof spans)[number]) => s.parentSpanContext?.spanId;
    const coalesced = spans.filter((s) => s.name === "rpcpool.compute.v1.ComputeService/Means (coalesced)");
    const direct = spans.filter(
      (s) => s.name === "rpcpool.compute.v1.ComputeService/Means" && parentOf(s) === rootId,
    );
    // Every call is one span, a child of the caller's: sent alone, or waiting and coalesced.
    expect(coalesced.length).toBeGreaterThan(0);
    expect(coalesced.length + direct.length).toBe(calls);
    for (const span of coalesced) {
      expect(parentOf(span)).toBe(rootId);
      expect(span.spanContext().traceId).toBe(root.spanContext().traceId);
    }
    // Each round trip of waiting calls runs in its first call's span; the others link to it.
    const coalescedIds = new Set(coalesced.map((s) => s.spanContext().spanId));
    const invokes = spans.filter((s) => s.name === "rpcpool.pool.v1.BatchService/Invoke");
    expect(invokes.length).toBeGreaterThan(0);
    for (const invoke of invokes) expect(coalescedIds).toContain(parentOf(invoke));
    const firsts = new Set(invokes.map(parentOf));
    for (const span of coalesced) {
      if (firsts.has(span.spanContext().spanId)) continue;
      const linked = span.links.map((l) => l.context.spanId);
      const alone = spans.some((s) => parentOf(s) === span.spanContext().spanId);
      // A waiting call that went alone (a group of one) has its own call as its child.
      expect(alone || linked.some((id) => firsts.has(id))).toBe(true);
    }
  });

  it("give streaming calls a client span that ends with the stream (the store's Put, a session)", async () => {
    exporter.reset();
    const value = Buffer.alloc(100_000, 7);
    const handle = await pool.broadcast(value);
    expect((await pool.gather([handle]))[0]!.equals(value)).toBe(true);
    const session = await pool.session();
    await session.close();
    await until(
      () => exporter.getFinishedSpans().some((s) => s.name === "rpcpool.pool.v1.SessionService/Open"),
      "the session's span ends",
    );
    const names = exporter.getFinishedSpans().map((s) => s.name);
    expect(names).toContain("rpcpool.pool.v1.StoreService/Put");
  });
});
