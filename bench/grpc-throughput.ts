import { writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Pool } from "rpcpool";
import { columnSumsJob, computeMethods, TableOptions } from "rpcpool/lesson";
import { startLocalServers } from "rpcpool/protocol";
import type { Figure } from "./figures.js";

/** Streams a table held in memory to one server, in 256 KiB messages; returns MB/s. */
async function streamOnce(pool: Pool, table: Buffer): Promise<number> {
  const server = pool.servers[0]!;
  async function* requests() {
    yield { options: TableOptions.fromPartial({ fileName: "bench.csv" }) };
    for (let i = 0; i < table.length; i += 256 << 10) yield { chunk: table.subarray(i, i + (256 << 10)) };
  }
  const start = performance.now();
  await server.clientStream(computeMethods.columnSums, requests(), { timeoutMs: 600_000 });
  return table.length / 1e6 / ((performance.now() - start) / 1000);
}

/**
 * One server over gRPC (all its worker threads), and the same table split over every local server,
 * both as MB/s and as a ratio to the in-process figure.
 */
export async function grpcThroughput(table: Buffer, inProcess: number, dir: string): Promise<Figure[]> {
  const cores = availableParallelism();
  const [one] = await startLocalServers(1, { workers: cores, stderr: "ignore" });
  let single = 0;
  try {
    const pool = await Pool.connect([one!.address]);
    // Warm-up on whole lines: a table cut mid-line is refused (an empty or short last row).
    await streamOnce(pool, table.subarray(0, table.indexOf(10, 16 << 20) + 1));
    single = Math.max(await streamOnce(pool, table), await streamOnce(pool, table));
    await pool.close();
  } finally {
    await one!.stop();
  }
  const file = join(dir, "bench-table.csv");
  await writeFile(file, table);
  const servers = await startLocalServers(cores, { workers: 1, stderr: "ignore" });
  let fanned = 0;
  try {
    const pool = await Pool.connect(servers.map((s) => s.address));
    const split = { kind: "size" as const, bytes: Math.ceil(table.length / (cores * 2)) };
    const run = async () => {
      const start = performance.now();
      const [merged] = (await columnSumsJob(pool, [file], { split })).files;
      if (!merged!.ok) throw merged!.error;
      return table.length / 1e6 / ((performance.now() - start) / 1000);
    };
    await run();
    fanned = Math.max(await run(), await run());
    await pool.close();
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
  return [
    {
      name: "one server over gRPC",
      value: single,
      unit: "MB/s",
      note: `${cores} worker threads; ${(single / inProcess).toFixed(2)}x the in-process figure`,
    },
    {
      name: "one server / in-process",
      value: single / inProcess,
      unit: "x",
      target: { value: 0.8, kind: "min" },
    },
    {
      name: `fanned out over ${cores} local servers (split)`,
      value: fanned,
      unit: "MB/s",
      note: `${(fanned / inProcess).toFixed(2)}x the in-process figure`,
    },
    { name: "fanned out / in-process", value: fanned / inProcess, unit: "x" },
  ];
}
