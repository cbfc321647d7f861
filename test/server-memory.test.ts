import { Pool } from "rpcpool";
import { computeMethods, lessonTableBytes, TableOptions } from "rpcpool/lesson";
import { describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";

const servers = useServers(1, { workers: 2 });

describe("a server's memory", () => {
  it("does not grow with the size of the table it streams (64 MB, then 256 MB)", async () => {
    const pool = await Pool.connect([servers.servers[0]!.address]);
    try {
      const server = pool.servers[0]!;
      const block = lessonTableBytes(7 * 1000); // whole cycles of the pattern, so the sums are known
      const stream = async (megabytes: number) => {
        const repeats = Math.ceil((megabytes << 20) / block.byteLength);
        async function* requests() {
          yield {
            options: TableOptions.fromPartial({ fileName: "big.csv", delimiter: ";" }),
          };
          for (let i = 0; i < repeats; i++) yield { chunk: block };
        }
        const reply = await server.clientStream(computeMethods.columnSums, requests(), {
          timeoutMs: 120_000,
        });
        expect(reply.rows).toBe(7000 * repeats);
        expect(reply.sums[0]).toBe((10 + 1 + 2 + 4 + 5 + 7 + 9) * 1000 * repeats);
        return (await server.refreshInfo()).maxRssBytes;
      };
      const afterSmall = await stream(64);
      const afterLarge = await stream(256);
      // Four times the bytes, about the same peak: memory is bounded by windows and pieces in flight.
      expect(afterLarge - afterSmall).toBeLessThan(64e6);
      expect(afterLarge).toBeLessThan(400e6);
    } finally {
      await pool.close();
    }
  });
});
