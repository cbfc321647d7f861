import { type HostedService, Pool, type RunningServer, startServer } from "rpcpool";
import { methodsOf } from "rpcpool/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { FlakyServiceDefinition, FlakyServiceService } from "./gen/rpcpool/test/v1/flaky.js";

// A user's service hosted in-process on two servers, A and B. A's handlers hold the call until the
// test shuts A down under it: the server fails mid-call, as a crashed or killed one does.
const running: RunningServer[] = [];
const pools: Pool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
  await Promise.all(running.splice(0).map((s) => s.close(0)));
});

/** Calls each method's handler began, on every server of a test. */
type Counts = { store: number; append: number };

function flaky(onCall: () => Promise<void>, counts?: Counts): HostedService {
  return {
    definition: FlakyServiceDefinition,
    implementation: ({ identity }) => ({
      store: async () => {
        if (counts) counts.store++;
        await onCall();
        return { server: identity.server };
      },
      append: async () => {
        if (counts) counts.append++;
        await onCall();
        return { server: identity.server };
      },
    }),
  };
}

/** Server A fails every call it takes; B answers. The pool knows A first, so A gets the first call. */
async function twoServers<D extends typeof FlakyServiceDefinition | typeof FlakyServiceService>(
  definition: D,
) {
  const counts: Counts = { store: 0, append: 0 };
  let failing!: RunningServer;
  const doomed = await startServer({
    port: 0,
    workers: 1,
    services: [
      flaky(async () => {
        // Shut down under the call: its client sees the server go away.
        setTimeout(() => failing.close(1), 20);
        await new Promise(() => {});
      }, counts),
    ],
  });
  failing = doomed;
  const healthy = await startServer({ port: 0, workers: 1, services: [flaky(async () => {}, counts)] });
  running.push(doomed, healthy);
  const pool = await Pool.connect([doomed.address, healthy.address]);
  pools.push(pool);
  const service = pool.service(definition);
  return { service, doomed, healthy, pool, counts };
}

describe("retries follow the proto's idempotency_level", () => {
  it("retries a method marked IDEMPOTENT on another server, with no flag from the caller", async () => {
    const { service, doomed, healthy } = await twoServers(FlakyServiceDefinition);
    const events: string[] = [];
    const reply = await service.apply("store", { value: "x" }, { onEvent: (e) => events.push(e.type) });
    expect(reply.server).toBe(healthy.address);
    expect(events).toEqual(["started", "server-lost", "retried", "started", "done"]);
    expect(doomed.address).not.toBe(healthy.address);
  });

  it("does not retry a method whose proto says nothing: its first server may have done the work", async () => {
    const { service } = await twoServers(FlakyServiceDefinition);
    const error = await service.apply("append", { value: "x" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ codeName: expect.stringMatching(/^(UNAVAILABLE|CANCELLED)$/) });
  });

  it("retries an unmarked method when the caller says it may run twice", async () => {
    const { service, healthy } = await twoServers(FlakyServiceDefinition);
    const reply = await service.apply("append", { value: "x" }, { idempotent: true });
    expect(reply.server).toBe(healthy.address);
  });

  it("learns the same from the servers' Info when given the grpc-js definition, which carries no options", async () => {
    const { service, healthy } = await twoServers(FlakyServiceService);
    expect((await service.apply("store", { value: "x" })).server).toBe(healthy.address);
    const { service: again } = await twoServers(FlakyServiceService);
    await expect(again.apply("append", { value: "x" })).rejects.toMatchObject({
      codeName: expect.stringMatching(/^(UNAVAILABLE|CANCELLED)$/),
    });
  });
});

describe("a task function's calls (pool.map, pool.apply) follow the proto of the call that failed", () => {
  const { store, append } = methodsOf(FlakyServiceDefinition);

  it("runs a method whose proto says nothing exactly once when its server fails under it", async () => {
    const { pool, counts, doomed } = await twoServers(FlakyServiceDefinition);
    const [outcome] = await pool.mapSettled(["x"], (value, server, signal) =>
      server.unary(append!, { value }, { signal }),
    );
    expect(outcome).toMatchObject({ ok: false, attempts: [doomed.address] });
    expect(!outcome!.ok && outcome!.error.codeName).toMatch(/^(UNAVAILABLE|CANCELLED)$/);
    expect(!outcome!.ok && outcome!.error.details).toContain("not run again");
    expect(counts.append).toBe(1);
  });

  it("runs it again on another server when the caller allows it (idempotent, or retries of its own)", async () => {
    for (const allow of [{ idempotent: true }, { retries: 1 }]) {
      const { pool, counts, healthy } = await twoServers(FlakyServiceDefinition);
      const reply = await pool.apply(
        (server, signal) => server.unary(append!, { value: "x" }, { signal }),
        allow,
      );
      expect(reply.server).toBe(healthy.address);
      expect(counts.append).toBe(2);
    }
  });

  it("runs a method marked IDEMPOTENT again on another server, with no flag from the caller", async () => {
    const { pool, counts, healthy } = await twoServers(FlakyServiceDefinition);
    const [reply] = await pool.map(["x"], (value, server, signal) =>
      server.unary(store!, { value }, { signal }),
    );
    expect(reply!.server).toBe(healthy.address);
    expect(counts.store).toBe(2);
  });

  it("moves any method whose request never left (the connection was refused): it ran nowhere", async () => {
    const { pool, counts, doomed, healthy } = await twoServers(FlakyServiceDefinition);
    await doomed.close(0);
    // Until the pool's connection to it has noticed, a call may still go out on it: wait for that.
    const first = pool.servers[0]!;
    for (let i = 0; i < 100; i++) {
      if (
        await first.refreshInfo().then(
          () => false,
          () => true,
        )
      )
        break;
    }
    const [outcome] = await pool.mapSettled(["x"], (value, server, signal) =>
      server.unary(append!, { value }, { signal }),
    );
    expect(outcome).toMatchObject({ ok: true, attempts: [doomed.address, healthy.address] });
    expect(counts.append).toBe(1);
  });
});
