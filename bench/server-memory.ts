import { Pool } from "rpcpool";
import { computeMethods, lessonTableBytes } from "rpcpool/lesson";
import { startLocalServers } from "rpcpool/protocol";
import { TableOptions } from "../src/gen/rpcpool/compute/v1/table.js";
import { uploadChunkBytes } from "../src/lesson/client/table-input.js";
import type { Figure } from "./figures.js";

/**
 * Peak RSS of a server (all its worker threads) while it sums a table of `gigabytes` GB streamed
 * from memory (whole cycles of the lesson's pattern, so the sums are checked), as the server's
 * own getrusage maxRSS reports it through DemoService.Info.
 */
export async function serverMemory(gigabytes = 1.1, workers = 2): Promise<Figure[]> {
  const [local] = await startLocalServers(1, { workers, stderr: "ignore" });
  const pool = await Pool.connect([local!.address]);
  try {
    const server = pool.servers[0]!;
    const before = (await server.refreshInfo()).maxRssBytes;
    const block = lessonTableBytes(7 * 1000);
    const repeats = Math.ceil((gigabytes * 1e9) / block.byteLength);
    async function* requests() {
      yield { options: TableOptions.fromPartial({ fileName: "generated.csv" }) };
      for (let i = 0; i < repeats; i++) {
        for (let at = 0; at < block.byteLength; at += uploadChunkBytes)
          yield { chunk: block.subarray(at, at + uploadChunkBytes) };
      }
    }
    const reply = await server.clientStream(computeMethods.columnSums, requests(), {
      timeoutMs: 30 * 60_000,
    });
    const expected = (10 + 1 + 2 + 4 + 5 + 7 + 9) * 1000 * repeats;
    if (reply.rows !== 7000 * repeats || reply.sums[0] !== expected)
      throw new Error(`wrong result: ${reply.rows} rows, first sum ${reply.sums[0]} (expected ${expected})`);
    const peak = (await server.refreshInfo()).maxRssBytes;
    return [
      {
        name: `server peak RSS on a ${((block.byteLength * repeats) / 1e9).toFixed(2)} GB table`,
        value: peak / 2 ** 20,
        unit: "MiB",
        target: { value: 150, kind: "max" },
        note: `${workers} worker threads; ${(before / 2 ** 20).toFixed(0)} MiB before the call`,
      },
    ];
  } finally {
    await pool.close();
    await local!.stop();
  }
}
