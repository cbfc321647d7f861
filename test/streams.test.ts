import { join } from "node:path";
import { Pool } from "rpcpool";
import { type LocalServer, startLocalServers } from "rpcpool/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StatsServiceDefinition } from "../examples/stats-service/gen/acme/stats/v1/stats.js";
import { root } from "./support/run-program.js";

// A user's service (the example's) on two server processes, mapped over generators: the client
// holds a bounded window of inputs and outcomes, like Pool.imap and imap_unordered.
let servers: LocalServer[] = [];
let pool: Pool;
beforeAll(async () => {
  const program = join(root, "dist", "examples", "stats-service", "server.js");
  servers = await startLocalServers(2, { program, workers: 1, stderr: "ignore" });
  pool = await Pool.connect(servers.map((s) => s.address));
});
afterAll(async () => {
  await pool.close();
  await Promise.all(servers.map((s) => s.stop()));
});

function* samples(n: number) {
  for (let i = 0; i < n; i++) yield { values: [i, i + 2] };
}

describe("map over a generator, in bounded memory", () => {
  it("streams a million inputs through a user service in order, the client's heap staying under 100 MB", async () => {
    const stats = pool.service(StatsServiceDefinition);
    const n = 1_000_000;
    const heap = () => process.memoryUsage().heapUsed;
    const before = heap();
    let most = 0;
    let expected = 0;
    let wrong = 0;
    for await (const reply of stats.imap("describe", samples(n), { chunksize: 1000 })) {
      // The mean of [i, i + 2] is i + 1, in input order.
      if (reply.mean !== expected + 1 || reply.count !== 2) wrong++;
      expected++;
      if ((expected & 0x3fff) === 0) most = Math.max(most, heap() - before);
    }
    expect(expected).toBe(n);
    expect(wrong).toBe(0);
    // Materialising the inputs and the replies alone would take several hundred MB.
    expect(most).toBeLessThan(100 << 20);
  }, 300_000);

  it("yields outcomes as completed from an async generator, each with its index, reading ahead a window only", async () => {
    const stats = pool.service(StatsServiceDefinition);
    let pulled = 0;
    async function* slowSource() {
      for (const sample of samples(5000)) {
        pulled++;
        yield sample;
      }
    }
    const seen = new Set<number>();
    let ahead = 0;
    for await (const outcome of stats.asCompleted("describe", slowSource(), { chunksize: 10, window: 200 })) {
      expect(outcome.ok && outcome.value.mean).toBe(outcome.index + 1);
      seen.add(outcome.index);
      ahead = Math.max(ahead, pulled - seen.size);
    }
    expect(seen.size).toBe(5000);
    // The window counts batches of 10: at most 20 batches read ahead, plus the one being cut.
    expect(ahead).toBeLessThanOrEqual(200 + 10);
  }, 120_000);

  it("stops reading the generator and cancels the rest when the loop breaks", async () => {
    let pulled = 0;
    function* endless() {
      for (let i = 0; ; i++) {
        pulled++;
        yield { values: [i] };
      }
    }
    let taken = 0;
    for await (const reply of pool
      .service(StatsServiceDefinition)
      .imap("describe", endless(), { window: 64 })) {
      expect(reply.count).toBe(1);
      if (++taken === 300) break;
    }
    expect(pulled).toBeLessThan(300 + 64 + 2);
  });
});
