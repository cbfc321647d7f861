import { Pool } from "rpcpool";
import { weightedMeansJob } from "rpcpool/lesson";
import { afterAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// The lesson's commands on the collectives: weights broadcast once per server, and the exact total
// of column sums over all files (docs/collectives.md, docs/cli.md).

const servers = useServers(2);
const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** What the servers' stores received so far: Put calls and value bytes, added up. */
async function received(): Promise<{ puts: number; bytes: number }> {
  const pool = await Pool.connect(servers.list.split(","));
  try {
    const stats = await pool.storeStats();
    return stats.reduce((n, { stats }) => ({ puts: n.puts + stats.puts, bytes: n.bytes + stats.putBytes }), {
      puts: 0,
      bytes: 0,
    });
  } finally {
    await pool.close();
  }
}

/** A table of `rows` rows of two columns, the same for every file (so one weights file fits all). */
function tableText(rows: number, shift: number): string {
  return Array.from({ length: rows }, (_, i) => `${i * 0.1 + shift};${(i % 7) - 3.5}`).join("\n");
}

describe("rpcpool weighted-means with many tables", () => {
  it("sends the weights once per server, not with every table; the means are those sent inline", async () => {
    const rows = 500;
    const files = Array.from({ length: 20 }, (_, i) => tmp.file(`w${i}.csv`, tableText(rows, i)));
    const weights = Array.from({ length: rows }, (_, i) => 1 + (i % 5) / 4);
    const weightsFile = tmp.file("weights.json", JSON.stringify(weights));
    const before = await received();
    const run = await rpcpool([
      "weighted-means",
      ...files,
      "--weights",
      weightsFile,
      "--servers",
      servers.list,
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const after = await received();
    // Twice (two servers), not twenty times: 8 bytes a weight.
    expect(after.puts - before.puts).toBe(2);
    expect(after.bytes - before.bytes).toBe(2 * 8 * rows);

    const pool = await Pool.connect(servers.list.split(","));
    try {
      const inline = await weightedMeansJob(pool, files, weights, { broadcastWeights: false });
      expect(run.json().results.map((r: { means: number[] }) => r.means)).toEqual(
        inline.files.map((o) => o.ok && o.value.means),
      );
    } finally {
      await pool.close();
    }
  });

  it("gives each part of a split file its rows' weights from the broadcast value", async () => {
    const rows = 20_000;
    const file = tmp.file("big.csv", tableText(rows, 0.5));
    const weights = Array.from({ length: rows }, (_, i) => (i % 3) + 0.5);
    const weightsFile = tmp.file("big-weights.json", JSON.stringify(weights));
    const args = [
      "weighted-means",
      file,
      file,
      "--weights",
      weightsFile,
      "--servers",
      servers.list,
      "--json",
    ];
    const split = await rpcpool([...args, "--split", "64KB"]);
    const whole = await rpcpool([...args, "--split", "none"]);
    expect(split.code, split.stderr).toBe(0);
    expect(whole.code, whole.stderr).toBe(0);
    const means = (run: typeof split) => run.json().results.map((r: { means: number[] }) => r.means);
    expect(means(split)).toEqual(means(whole));
    expect(means(split)[0]).toHaveLength(2);
  });
});

describe("rpcpool column-sums --total", () => {
  it("adds the exact total over all files to the JSON and to the text", async () => {
    const a = tmp.file("a.csv", "0.1;1e16\n0.2;1\n");
    const b = tmp.file("b.csv", "0.3;-1e16\n");
    const empty = tmp.file("empty.csv", "\n");
    const json = await rpcpool(["column-sums", a, b, empty, "--total", "--servers", servers.list, "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const out = json.json();
    // math.fsum([0.1, 0.2, 0.3]) and math.fsum([1e16, 1, -1e16]).
    expect(out.total).toEqual({ rows: 3, columns: 2, sums: [0.6, 1] });
    expect(out.results).toHaveLength(3);
    expect(out.errors).toEqual([]);

    const text = await rpcpool(["column-sums", a, b, "--total", "--servers", servers.list]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/total of 2 files: 3 rows x 2 columns\n\s+1-2: 0.6 +1\n/);
  });

  it("refuses the total of files of different widths, naming both, and keeps the per-file results", async () => {
    const a = tmp.file("two.csv", "1;2\n");
    const b = tmp.file("three.csv", "1;2;3\n");
    const run = await rpcpool(["column-sums", a, b, "--total", "--servers", servers.list, "--json"]);
    expect(run.code).toBe(1);
    const out = run.json();
    expect(out.total).toBeUndefined();
    expect(out.results.map((r: { sums: number[] }) => r.sums)).toEqual([
      [1, 2],
      [1, 2, 3],
    ]);
    expect(out.errors).toEqual([
      {
        file: "(total)",
        code: "INVALID_ARGUMENT",
        message: `no total: ${a} has 2 columns and ${b} has 3`,
      },
    ]);
    expect(run.stderr).toContain(
      `error: (total): INVALID_ARGUMENT: no total: ${a} has 2 columns and ${b} has 3`,
    );
  });

  it("refuses the total when a file failed: a total without it would be wrong", async () => {
    const a = tmp.file("ok.csv", "1;2\n");
    const bad = tmp.file("bad.csv", "1;x\n");
    const run = await rpcpool(["column-sums", a, bad, "--total", "--servers", servers.list, "--json"]);
    expect(run.code).toBe(1);
    const out = run.json();
    expect(out.total).toBeUndefined();
    expect(out.results).toHaveLength(1);
    expect(out.errors.map((e: { file: string; code: string }) => [e.file, e.code])).toEqual([
      [bad, "INVALID_ARGUMENT"],
      ["(total)", "FAILED_PRECONDITION"],
    ]);
  });
});
