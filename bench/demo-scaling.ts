import { availableParallelism } from "node:os";
import { Pool, type PoolServer } from "rpcpool";
import { demoMethods, sleepTimeoutMs } from "rpcpool/lesson";
import { startLocalServers } from "rpcpool/protocol";
import { timed } from "../src/cli/speedup-summary.js";
import { type ScalingReport, scalingReport } from "../src/metrics/scaling-fit.js";
import type { Figure } from "./figures.js";

type Task = (server: PoolServer, signal: AbortSignal) => Promise<unknown>;

/**
 * The same `tasks` calls on 1, 2, ... all servers of the pool, one call per server at a time;
 * the best of `repeats` runs for each n (a shared machine only ever slows a run down).
 */
async function scale(pool: Pool, tasks: number, task: Task, repeats = 1): Promise<ScalingReport> {
  const inputs = Array.from({ length: tasks }, (_, i) => i);
  // Warm every server (worker threads, JIT) before the first timed run.
  await pool.map(pool.servers, (_, server, signal) => task(server, signal), { perServer: 1 });
  const times: Array<{ servers: number; ms: number }> = [];
  for (let n = 1; n <= pool.servers.length; n++) {
    const servers = pool.servers.slice(0, n);
    let best = Number.POSITIVE_INFINITY;
    for (let r = 0; r < repeats; r++) {
      const { ms } = await timed(() =>
        pool.map(inputs, (_, server, signal) => task(server, signal), { servers, perServer: 1 }),
      );
      best = Math.min(best, ms);
    }
    times.push({ servers: n, ms: best });
  }
  return scalingReport(times);
}

const at = (report: ScalingReport, n: number) => report.runs.find((r) => r.servers === n)!;

/**
 * The lesson's two demos with 1..N servers: the CPU-bound count on one server per core (one
 * worker thread each), and six 1 s sleeps on up to six servers (waiting needs no core).
 */
export async function demoScaling(
  options: { iterations?: number; spinTasks?: number; sleepMs?: number } = {},
): Promise<{ figures: Figure[]; spin: ScalingReport; sleep: ScalingReport }> {
  const cores = availableParallelism();
  const iterations = options.iterations ?? 600_000_000;
  const sleepMs = options.sleepMs ?? 1000;
  let spin: ScalingReport;
  {
    const servers = await startLocalServers(cores, { workers: 1, stderr: "ignore" });
    const pool = await Pool.connect(servers.map((s) => s.address));
    try {
      spin = await scale(
        pool,
        options.spinTasks ?? cores * 3,
        (server, signal) => server.unary(demoMethods.spin, { iterations }, { signal }),
        2,
      );
    } finally {
      await pool.close();
      await Promise.all(servers.map((s) => s.stop()));
    }
  }
  let sleep: ScalingReport;
  {
    const servers = await startLocalServers(6, { workers: 1, stderr: "ignore" });
    const pool = await Pool.connect(servers.map((s) => s.address));
    try {
      sleep = await scale(pool, 6, (server, signal) =>
        server.unary(
          demoMethods.sleep,
          { milliseconds: sleepMs },
          { signal, timeoutMs: sleepTimeoutMs(sleepMs) },
        ),
      );
    } finally {
      await pool.close();
      await Promise.all(servers.map((s) => s.stop()));
    }
  }
  const spinAll = at(spin, cores);
  const figures: Figure[] = [
    {
      name: `CPU-bound demo speed-up on ${cores} servers`,
      value: spinAll.speedup,
      unit: "x",
      note: `count to ${iterations}, ${options.spinTasks ?? cores * 3} calls, best of 2 runs; Amdahl p = ${spin.amdahl.parallelFraction?.toFixed(4)}`,
    },
    {
      name: `CPU-bound demo efficiency on ${cores} servers`,
      value: spinAll.efficiency,
      unit: "",
      target: { value: 0.9, kind: "min" },
    },
    {
      name: "sleep demo: 6 calls of 1 s on 6 servers",
      value: at(sleep, 6).ms / 1000,
      unit: "s",
      target: { value: 1.1, kind: "max" },
      note: `speed-up ${at(sleep, 6).speedup.toFixed(2)} over one server (${(at(sleep, 1).ms / 1000).toFixed(2)} s)`,
    },
    { name: "sleep demo efficiency on 6 servers", value: at(sleep, 6).efficiency, unit: "" },
  ];
  return { figures, spin, sleep };
}
