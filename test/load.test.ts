import { describe, expect, it } from "vitest";
import { loadTest } from "../bench/load-test.js";
import { tempDir } from "./support/temp-dir.js";

// The load test of `npm run bench`, shorter: correctness and memory under 50 concurrent clients.
// Its latency figures are printed, never asserted (this machine is shared and noisy).
describe("under load", () => {
  it("answers 50 concurrent clients correctly, loses no call, and keeps server memory flat", async () => {
    const tmp = tempDir("rpcpool-load-");
    try {
      const result = await loadTest({ dir: tmp.dir, clients: 50, durationMs: 4000 });
      console.log(
        `load: ${result.succeeded} tasks, ${result.tasksPerSecond.toFixed(0)}/s, p99 ${result.p99Ms.toFixed(1)} ms, RSS MiB ${JSON.stringify(result.rssMiB)}`,
      );
      expect(result.errors).toEqual([]);
      expect(result.failed).toBe(0);
      expect(result.wrong).toBe(0);
      expect(result.succeeded).toBe(result.issued);
      // Every client got through at least one round of 19 tasks.
      expect(result.issued).toBeGreaterThanOrEqual(50 * 19);
      for (const server of result.rssMiB) {
        // A leak grows with the calls served; buffers in flight are bounded by the clients' windows.
        expect(server.secondHalfPeak).toBeLessThan(server.firstHalfPeak + 64);
      }
    } finally {
      tmp.cleanup();
    }
  }, 120_000);
});
