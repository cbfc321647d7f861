// Many small files (the lesson's ten tables) keep two calls per worker thread in flight, so that a
// server receives the next file while its thread sums one; larger files keep one call per thread.
// A real server process of one worker thread, real files, real calls.
import { Pool, type PoolEvent } from "rpcpool";
import { columnSumsJob, lessonColumnSums, lessonTableBytes } from "rpcpool/lesson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { tempDir } from "./support/temp-dir.js";

const servers = useServers(1);
const tmp = tempDir();
let pool: Pool;
beforeAll(async () => {
  pool = await Pool.connect(servers.servers.map((s) => s.address));
});
afterAll(async () => {
  await pool.close();
  tmp.cleanup();
});

/** The most calls the job had in flight at once, from its started and done events. */
function inFlightCounter() {
  let now = 0;
  let most = 0;
  return {
    onEvent: (event: PoolEvent) => {
      if (event.type === "started") most = Math.max(most, ++now);
      if (event.type === "done" || event.type === "failed") now--;
    },
    most: () => most,
  };
}

describe("a job of small files", () => {
  it("keeps two calls in flight on a server of one thread, with every file's exact sums in order", async () => {
    const files = Array.from({ length: 6 }, (_, i) => tmp.file(`t${i}.csv`, lessonTableBytes(1_000 + i)));
    const counter = inFlightCounter();
    const job = await columnSumsJob(pool, files, { onEvent: counter.onEvent });
    expect(job.files.map((f) => f.ok && f.value.sums)).toEqual(
      files.map((_, i) => lessonColumnSums(1_000 + i)),
    );
    expect(counter.most()).toBe(2);
  });

  it("keeps one call per thread for files over 4 MiB", async () => {
    const big = lessonTableBytes(45_000);
    expect(big.length).toBeGreaterThan(4 << 20);
    const files = [0, 1, 2].map((i) => tmp.file(`big${i}.csv`, big));
    const counter = inFlightCounter();
    const job = await columnSumsJob(pool, files, { onEvent: counter.onEvent, split: { kind: "none" } });
    expect(job.files.every((f) => f.ok && f.value.sums[0] === lessonColumnSums(45_000)[0])).toBe(true);
    expect(counter.most()).toBe(1);
  });
});
