import { availableParallelism } from "node:os";
import { performance } from "node:perf_hooks";
import { Pool } from "rpcpool";
import { ComputeServiceService, MeansRequest } from "rpcpool/lesson";
import { startLocalServers } from "rpcpool/protocol";
import type { Figure } from "./figures.js";

/**
 * Many tiny tasks: `count` means of three numbers through the pool, one call each, then batched
 * (`chunksize`, like Pool.map's), over every local server. Every answer is checked.
 */
export async function tinyTasks(count = 10_000, chunksize = 500): Promise<Figure[]> {
  const servers = await startLocalServers(availableParallelism(), { workers: 1, stderr: "ignore" });
  const pool = await Pool.connect(servers.map((s) => s.address));
  try {
    const compute = pool.service(ComputeServiceService);
    const inputs = Array.from({ length: count }, (_, i) =>
      MeansRequest.fromPartial({ lists: [{ values: [i, i + 1, i + 5] }] }),
    );
    const rate = async (options: { chunksize?: number; perServer?: number }) => {
      const start = performance.now();
      const replies = await compute.map("means", inputs, options);
      const seconds = (performance.now() - start) / 1000;
      replies.forEach((reply, i) => {
        if (reply.means[0] !== i + 2) throw new Error(`task ${i}: mean ${reply.means[0]}, expected ${i + 2}`);
      });
      return count / seconds;
    };
    // Unbatched: many calls in flight per server, as a user would run tiny calls.
    await rate({ perServer: 64 });
    const single = await rate({ perServer: 64 });
    await rate({ chunksize, perServer: 4 });
    const batched = Math.max(
      await rate({ chunksize, perServer: 4 }),
      await rate({ chunksize, perServer: 4 }),
    );
    return [
      {
        name: `tiny tasks, one call each (${count} means of 3 numbers)`,
        value: single,
        unit: "tasks/s",
        note: `${servers.length} servers, 64 calls in flight per server`,
      },
      {
        name: `tiny tasks, batched (chunksize ${chunksize})`,
        value: batched,
        unit: "tasks/s",
        target: { value: 20_000, kind: "min" },
        note: "BatchService.Invoke: one round trip per batch",
      },
    ];
  } finally {
    await pool.close();
    await Promise.all(servers.map((s) => s.stop()));
  }
}
