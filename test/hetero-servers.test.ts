import { Pool, type PoolServer } from "rpcpool";
import { DemoServiceService } from "rpcpool/lesson";
import { type LocalServer, startLocalServers } from "rpcpool/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rateUnit } from "../src/pool/server-rates.js";
import { throttledGroup } from "./support/cpu-throttle.js";

// Two real server processes of one worker thread each; one is throttled to a tenth of a CPU by a
// cgroup (test/support/cpu-throttle.ts; skipped, saying why, where none can be made).

const group = throttledGroup(`rpcpool-test-hetero-${process.pid}`, 0.1);
const skip = typeof group === "string" ? group : undefined;
if (skip) console.warn(`heterogeneous-servers test skipped: ${skip}`);

let servers: LocalServer[] = [];
let pool: Pool;

beforeAll(async () => {
  if (typeof group === "string") return;
  servers = await startLocalServers(2, { workers: 1, stderr: "ignore" });
  // The whole process (its worker thread too) goes into the throttled group.
  group.add(servers[1]!.process.pid!);
  // The slow server first: where loads tie, the engine's old rule took the first server listed.
  pool = await Pool.connect([servers[1]!.address, servers[0]!.address]);
}, 30_000);

afterAll(async () => {
  await pool?.close();
  await Promise.all(servers.map((s) => s.stop()));
  if (typeof group !== "string") group.remove();
});

describe.skipIf(skip !== undefined)("servers of different speed", () => {
  // About 20-40 ms of CPU on an unthrottled core.
  const spin = { iterations: 30_000_000 };
  // The tasks are equal, and the run says so: runs that weigh their inputs are steered by rate.
  const weight = () => 1;
  const count = (outcomes: Array<{ server?: string }>, address: string) =>
    outcomes.filter((o) => o.server === address).length;

  it("gives the throttled server proportionally fewer tasks, and not the last ones", async () => {
    const demo = pool.service(DemoServiceService);
    const [fast, slow] = servers.map((s) => s.address) as [string, string];
    const [slowServer, fastServer] = pool.servers as [PoolServer, PoolServer];
    // A first run on each alone measures both (the first calls also warm the servers up).
    for (const server of pool.servers)
      await demo.mapSettled("spin", Array(4).fill(spin), { servers: [server], weight });
    const spinUnit = rateUnit(true, "/rpcpool.compute.v1.DemoService/Spin");
    expect(slowServer.rate!.throughputOf(spinUnit)!).toBeLessThan(fastServer.rate!.throughputOf(spinUnit)!);
    const outcomes = await demo.mapSettled("spin", Array(40).fill(spin), { chunksize: 1, weight });
    expect(outcomes.every((o) => o.ok)).toBe(true);
    // A tenth of the CPU: a few of 40 tasks (how many depends on what neighbours leave the fast one).
    expect(count(outcomes, slow)).toBeLessThanOrEqual(16);
    expect(count(outcomes, slow)).toBeLessThan(count(outcomes, fast));
    // The last task, with both servers free, goes to the one that finishes it sooner.
    for (let i = 0; i < 3; i++) {
      const [last] = await demo.mapSettled("spin", [spin], { weight });
      expect(last!.server).toBe(fast);
    }
  }, 60_000);
});
