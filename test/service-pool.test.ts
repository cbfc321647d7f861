import { Pool, type PoolEvent } from "rpcpool";
import { ComputeServiceDefinition, ComputeServiceService, DemoServiceService } from "rpcpool/lesson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";

const servers = useServers(2);
let pool: Pool;
beforeAll(async () => {
  pool = await Pool.connect(servers.servers.map((s) => s.address));
});
afterAll(() => pool.close());

const lists = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ lists: [{ values: [i, i + 1, i + 2] }] }));

describe("the pool over any service definition", () => {
  it("maps a method over many inputs across every server, results in input order", async () => {
    // The grpc-js form (ts-proto's outputServices=grpc-js shape): it carries no proto options, and
    // no flag is needed: the servers' Info says which methods are idempotent.
    const compute = pool.service(ComputeServiceService);
    const replies = await compute.map("means", lists(40));
    expect(replies.map((r) => r.means[0])).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(new Set(replies.map((r) => r.servedBy!.server)).size).toBe(2);
    const one = await compute.apply("circles", { radii: [1], pi: 3.1415927 });
    expect(one.lengths).toEqual([6.2831854]);
  });

  it("yields outcomes as they complete, each with its input's index", async () => {
    const demo = pool.service(DemoServiceService);
    const order: number[] = [];
    for await (const outcome of demo.asCompleted(
      "sleep",
      [300, 10, 150].map((milliseconds) => ({ milliseconds })),
    )) {
      expect(outcome.ok).toBe(true);
      order.push(outcome.index);
    }
    expect(order.sort()).toEqual([0, 1, 2]);
    const generic: number[] = [];
    for await (const outcome of pool.asCompleted([1, 2, 3], async (x) => x * 2))
      generic.push(outcome.ok ? outcome.value : -1);
    expect(generic.sort()).toEqual([2, 4, 6]);
  });

  it("bounds the calls in flight per server and reports progress per server", async () => {
    const events: PoolEvent[] = [];
    const running = new Map<string, number>();
    let most = 0;
    await pool.service(DemoServiceService).map("sleep", Array(8).fill({ milliseconds: 30 }), {
      perServer: 2,
      onEvent: (event) => {
        events.push(event);
        if (event.type === "started") running.set(event.server, (running.get(event.server) ?? 0) + 1);
        if (event.type === "done") running.set(event.server, running.get(event.server)! - 1);
        most = Math.max(most, ...running.values());
      },
    });
    expect(most).toBe(2);
    expect(events.filter((e) => e.type === "done")).toHaveLength(8);
    expect(new Set(events.map((e) => ("server" in e ? e.server : "")))).toEqual(
      new Set(servers.servers.map((s) => s.address)),
    );
  });

  it("gives every call a deadline", async () => {
    const demo = pool.service(DemoServiceService);
    await expect(demo.apply("sleep", { milliseconds: 5000 }, { timeoutMs: 100 })).rejects.toMatchObject({
      codeName: "DEADLINE_EXCEEDED",
    });
  });

  it("cancels with an AbortSignal, and the server stops the work", async () => {
    const demo = pool.service(DemoServiceService);
    const controller = new AbortController();
    const server = pool.servers[0]!;
    const call = demo.apply("spin", { iterations: 1e11 }, { signal: controller.signal, servers: [server] });
    // The spin is running on the server before it is cancelled (polled: loaded cores are slow).
    await expect.poll(async () => (await server.refreshInfo()).callsInFlight, { timeout: 10_000 }).toBe(1);
    controller.abort();
    await expect(call).rejects.toMatchObject({ codeName: "CANCELLED" });
    await expect.poll(async () => (await server.refreshInfo()).callsInFlight, { timeout: 10_000 }).toBe(0);
    // The worker thread is free again: a small spin on the same one-worker server completes.
    const small = await demo.apply("spin", { iterations: 1000 }, { servers: [server], timeoutMs: 20_000 });
    expect(small.count).toBe(1000);
  });
});

describe("coalescing concurrent applies", () => {
  it("sends the calls that wait for room in one BatchService round trip, each with its own result", async () => {
    let roundTrips = 0;
    const counting = await Pool.connect(
      servers.servers.map((s) => s.address),
      {
        onEvent: (event) => {
          if (event.type === "started") roundTrips++;
        },
      },
    );
    try {
      const compute = counting.service(ComputeServiceDefinition);
      const replies = await Promise.all(lists(300).map((request) => compute.apply("means", request)));
      expect(replies.map((r) => r.means[0])).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
      // Two calls per worker thread go at once; the others wait and travel together.
      expect(roundTrips).toBeLessThan(30);
      const bad = await Promise.allSettled([
        compute.apply("means", { lists: [{ values: [1] }] }),
        compute.apply("means", { lists: [{ values: [] }] }),
        ...lists(20).map((request) => compute.apply("means", request)),
      ]);
      expect(bad[1]).toMatchObject({ status: "rejected", reason: { codeName: "INVALID_ARGUMENT" } });
      expect(bad.filter((o) => o.status === "fulfilled")).toHaveLength(21);
      roundTrips = 0;
      await Promise.all(lists(40).map((request) => compute.apply("means", request, { coalesce: false })));
      expect(roundTrips).toBe(40);
    } finally {
      await counting.close();
    }
  });

  it("never gives a call the result of another client's call whose reply check differs", async () => {
    const checkedBy: string[] = [];
    const lenient = pool.service(ComputeServiceDefinition, { checkReply: () => checkedBy.push("lenient") });
    const strict = pool.service(ComputeServiceDefinition, { checkReply: () => checkedBy.push("strict") });
    await lenient.apply("means", lists(1)[0]!);
    expect(checkedBy).toEqual(["lenient"]);
    checkedBy.length = 0;
    // Alone and coalesced alike, each of strict's replies passes strict's check, not lenient's.
    await strict.apply("means", lists(1)[0]!);
    await Promise.all(lists(40).map((request) => strict.apply("means", request)));
    expect(checkedBy).toEqual(Array.from({ length: 41 }, () => "strict"));
  });

  it("lets a waiting call leave at once when its signal aborts", async () => {
    const demo = pool.service(DemoServiceService);
    const controller = new AbortController();
    const busy = Array.from({ length: 8 }, () => demo.apply("sleep", { milliseconds: 300 }));
    const waiting = demo.apply("sleep", { milliseconds: 1 }, { signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ codeName: "CANCELLED" });
    await Promise.all(busy);
  });
});

describe("batching (chunksize)", () => {
  it("gives the same results as one call per input, in fewer round trips", async () => {
    const compute = pool.service(ComputeServiceService);
    const inputs = lists(1000);
    const events: PoolEvent[] = [];
    const batched = await compute.map("means", inputs, { chunksize: 100, onEvent: (e) => events.push(e) });
    expect(batched.map((r) => r.means[0])).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(events.filter((e) => e.type === "done")).toHaveLength(10);
  });

  it("keeps a bad item's error to that item", async () => {
    // The generic form (outputServices=generic-definitions), which carries the proto's options.
    const compute = pool.service(ComputeServiceDefinition);
    const outcomes = await compute.mapSettled(
      "means",
      [{ lists: [{ values: [1, 2] }] }, { lists: [{ values: [] }] }, { lists: [{ values: [3] }] }],
      { chunksize: 3 },
    );
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
    expect(!outcomes[1]!.ok && outcomes[1]!.error.codeName).toBe("INVALID_ARGUMENT");
    expect(outcomes[2]!.ok && outcomes[2]!.value.means).toEqual([3]);
  });
});
