import { Pool } from "rpcpool";
import { columnSumsJob, lessonTableBytes } from "rpcpool/lesson";
import { type LocalServer, startLocalServers } from "rpcpool/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rateUnit } from "../src/pool/server-rates.js";
import { throttledGroup } from "./support/cpu-throttle.js";
import { tempDir } from "./support/temp-dir.js";

// `--split auto` over two real server processes of one worker thread each, one throttled by a
// cgroup to a tenth of a CPU: a column-sums job, which passes no weight of its own, measures the
// servers; the next job's parts are fitted to the rates, the slow server gets far less than the
// file the even plan would give it, and the sums stay bit-identical. Asserts bytes per server,
// never time. Skipped, saying why, where no cgroup can be made (it needs root).

const group = throttledGroup(`rpcpool-test-hetero-split-${process.pid}`, 0.1);
const skip = typeof group === "string" ? group : undefined;
if (skip) console.warn(`heterogeneous split test skipped: ${skip}`);

const files = tempDir("rpcpool-hetero-split-");
let servers: LocalServer[] = [];
let pool: Pool;
let four: string[] = [];

beforeAll(async () => {
  if (typeof group === "string") return;
  // Four files of about 20 MB: under 32 MiB, so the even plan sends them whole.
  const table = lessonTableBytes(7 * 27_000);
  four = [0, 1, 2, 3].map((i) => files.file(`t${i}.csv`, table));
  servers = await startLocalServers(2, { workers: 1, stderr: "ignore" });
  group.add(servers[1]!.process.pid!);
  // The slow server first: on the first job, with nothing measured, it takes the first file.
  pool = await Pool.connect([servers[1]!.address, servers[0]!.address]);
}, 30_000);

afterAll(async () => {
  await pool?.close();
  await Promise.all(servers.map((s) => s.stop()));
  if (typeof group !== "string") group.remove();
  files.cleanup();
});

/** A column-sums job over the four files: its sums, its tasks, and the bytes each server ran. */
async function job() {
  let sizes: number[] = [];
  const bytesOn = new Map<string, number>();
  const result = await columnSumsJob(pool, four, {
    onPlan: (tasks) => {
      sizes = tasks.map((t) => t.bytes);
    },
    onEvent: (event) => {
      if (event.type === "done")
        bytesOn.set(event.server, (bytesOn.get(event.server) ?? 0) + sizes[event.index]!);
    },
  });
  return { result, tasks: sizes.length, total: sizes.reduce((a, b) => a + b, 0), bytesOn };
}

describe.skipIf(skip !== undefined)("--split auto on servers of different speed", () => {
  it("fits the parts to the rates the pool measured: the slow server runs less than a file", async () => {
    const [fast, slow] = servers.map((s) => s.address) as [string, string];
    // First job: nothing measured, equal worker threads: the files go whole, the first to the slow server.
    const cold = await job();
    expect(cold.tasks).toBe(4);
    expect(cold.bytesOn.get(slow)).toBeGreaterThanOrEqual(cold.total / 4);
    // The job weighs its tasks by bytes without being told: both servers now have a rate in bytes.
    const unit = rateUnit(true);
    const [slowRate, fastRate] = pool.servers.map((s) => s.rate!.throughputOf(unit));
    expect(slowRate).toBeGreaterThan(0);
    expect(fastRate).toBeGreaterThan(slowRate!);
    // Second job: the slow server runs less than the whole file it had (a part, or nothing when the
    // fast one could run everything before it finished one part).
    const warm = await job();
    expect(warm.bytesOn.get(slow) ?? 0).toBeLessThan(cold.total / 4);
    expect(warm.bytesOn.get(fast)).toBeGreaterThan((3 * warm.total) / 4);
    // Whatever the split, the sums are the same bits.
    const sums = (run: typeof cold) =>
      run.result.files.map((f) => (f.ok ? { sums: f.value.sums, rows: f.value.rows } : f.error.message));
    expect(sums(warm)).toEqual(sums(cold));
    expect(warm.result.files.every((f) => f.ok)).toBe(true);
  }, 60_000);
});
