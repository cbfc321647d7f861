import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

const reference = JSON.parse(
  readFileSync(new URL("./fixtures/lesson-reference.json", import.meta.url), "utf8"),
);
const tmp = tempDir();
afterAll(() => tmp.cleanup());
const servers = useServers(2);

describe("the embedded default and the lesson", () => {
  it("starts local servers when --servers is not given, and stops them", async () => {
    const file = tmp.file("one.csv", "1;2\n3;4\n");
    const run = await rpcpool(["column-sums", file, "--local", "2", "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json().results[0].sums).toEqual([4, 6]);
    expect(run.json().results[0].server).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it("runs the lesson's experiment: data generated, sums, both times, speed-up, efficiency", async () => {
    const data = `${tmp.dir}/lesson`;
    const run = await rpcpool(["lesson", "--data", data, "--servers", servers.list, "--json"], {
      timeoutMs: 120_000,
    });
    expect(run.code, run.stderr).toBe(0);
    const out = run.json();
    expect(out.results).toHaveLength(10);
    for (const result of out.results) expect(result.sums).toEqual(reference.column_sums.sums);
    expect(out.servers).toBe(2);
    expect(out.sequentialMs).toBeGreaterThan(0);
    expect(out.parallelMs).toBeGreaterThan(0);
    expect(out.speedup).toBeCloseTo(out.sequentialMs / out.parallelMs, 1);
    expect(out.efficiency).toBeCloseTo(out.speedup / 2, 2);
    expect(readFileSync(`${data}/tabla_09.csv`).byteLength).toBeGreaterThan(1_000_000);
  });

  it("prints the lesson's printout in words", async () => {
    const run = await rpcpool(["lesson", "--data", `${tmp.dir}/lesson`, "--servers", servers.list], {
      timeoutMs: 120_000,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/speed-up S = T1\/Tn = \d/);
    expect(run.stdout).toMatch(/efficiency E = S\/n = \d/);
    expect(run.stdout).toContain("tabla_00.csv");
    expect(run.stdout).toContain("54825");
  });
});
