import { Pool } from "rpcpool";
import { computeMethods, demoMethods, TableOptions } from "rpcpool/lesson";
import { BatchServiceDefinition, methodsOf } from "rpcpool/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { healthCheck } from "./support/grpc-clients.js";
import { useServers } from "./support/local-servers.js";

// One worker thread: the hardest case, two long spins could hold every thread the server has.
const servers = useServers(1, { workers: 1 });
let pool: Pool;
beforeAll(async () => {
  pool = await Pool.connect([servers.servers[0]!.address], { retries: 0 });
});
afterAll(() => pool.close());

describe("long CPU calls take no more than their share of the worker threads", () => {
  it("a table call finishes while two long spins still run", async () => {
    const server = pool.servers[0]!;
    const stop = new AbortController();
    const events: string[] = [];
    // Minutes of counting each, unless cancelled.
    const spins = [1, 2].map((n) =>
      server.unary(demoMethods.spin, { iterations: 1e12 }, { timeoutMs: 120_000, signal: stop.signal }).then(
        () => events.push(`spin ${n} done`),
        (error) => events.push(`spin ${n} ${error.codeName}`),
      ),
    );
    // Both spins have reached the server (and its one thread) before the table call starts.
    await expect.poll(async () => (await server.refreshInfo()).callsInFlight).toBeGreaterThanOrEqual(2);
    async function* requests() {
      yield { options: TableOptions.fromPartial({ fileName: "t.csv", delimiter: ";" }) };
      yield { chunk: Buffer.from("1;2\n3;4\n") };
    }
    const reply = await server.clientStream(computeMethods.columnSums, requests(), { timeoutMs: 60_000 });
    events.push("table done");
    expect(reply.sums).toEqual([4, 6]);
    stop.abort();
    await Promise.all(spins);
    expect(events[0]).toBe("table done");
    expect(events.slice(1).sort()).toEqual(["spin 1 CANCELLED", "spin 2 CANCELLED"]);
  }, 90_000);
});

describe("a batch of the largest size, cancelled", () => {
  it("10,000 spins end with their deadline, and the server answers health and calls at once", async () => {
    const server = pool.servers[0]!;
    const bytes = (demoMethods.spin as { requestSerialize(v: object): Buffer }).requestSerialize({
      iterations: 1e12,
    });
    const invoke = methodsOf(BatchServiceDefinition).invoke!;
    const batch = server.unary(
      invoke,
      { method: demoMethods.spin.path, requests: Array.from({ length: 10_000 }, () => bytes) },
      { timeoutMs: 1500 },
    );
    await expect(batch).rejects.toMatchObject({ codeName: "DEADLINE_EXCEEDED" });
    // Before the fix, 100,000 such items left health dead for over a minute: 5 s is generous.
    expect(await healthCheck(servers.servers[0]!.address, "", 5000)).toBe("SERVING");
    const sleep = await server.unary(demoMethods.sleep, { milliseconds: 1 }, { timeoutMs: 5000 });
    expect(sleep.servedBy!.pid).toBe(servers.servers[0]!.process.pid);
  });
});
