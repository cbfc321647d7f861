import { planSplit } from "rpcpool/lesson";
import { afterAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

const servers = useServers(2);
const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** A table whose sums are sensitive to order and grouping: naive sums of its parts would differ. */
function awkwardTable(rows: number): string {
  const values = ["0.1", "1e16", "-1e16", "3.3333333333333335", "-0.7", "1e-5", "12345.678", "-2.5e3"];
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) lines.push(`${values[i % 8]};${values[(i * 3) % 8]};${i}`);
  return `${lines.join("\n")}\n`;
}

describe("splitting one big table", () => {
  const file = () => tmp.file("awkward.csv", awkwardTable(60_000));

  it("gives sums bit-identical to one server's, using every server", async () => {
    const path = file();
    const whole = await rpcpool([
      "column-sums",
      path,
      "--split",
      "none",
      "--servers",
      servers.list,
      "--json",
    ]);
    const split = await rpcpool([
      "column-sums",
      path,
      "--split",
      "64KB",
      "--servers",
      servers.list,
      "--json",
    ]);
    expect(whole.code, whole.stderr).toBe(0);
    expect(split.code, split.stderr).toBe(0);
    const a = whole.json().results[0];
    const b = split.json().results[0];
    expect(b.sums).toEqual(a.sums);
    expect(b.rows).toBe(60_000);
    expect(b.columns).toBe(3);
    expect(a.server.split(",")).toHaveLength(1);
    expect(b.server.split(",").sort()).toEqual(servers.servers.map((s) => s.address).sort());
  });

  it("names the line of the whole file in a refusal from a late part", async () => {
    const text = awkwardTable(30_000).split("\n");
    text[25_000 - 1] = "1;x;3";
    const path = tmp.file("late-error.csv", text.join("\n"));
    const run = await rpcpool(["column-sums", path, "--split", "32KB", "--servers", servers.list, "--json"]);
    expect(run.code).toBe(1);
    expect(run.json().errors[0].message).toMatch(/line 25000, column 2/);
  });

  it("slices weights to match each part: weighted means equal the unsplit ones", async () => {
    const path = file();
    const weights = tmp.file(
      "w.json",
      JSON.stringify(Array.from({ length: 60_000 }, (_, i) => ((i * 7) % 13) / 10)),
    );
    for (const divisor of ["weights", "rows"]) {
      const args = [
        "weighted-means",
        path,
        "--weights",
        weights,
        "--divisor",
        divisor,
        "--servers",
        servers.list,
        "--json",
      ];
      const whole = await rpcpool([...args, "--split", "none"]);
      const split = await rpcpool([...args, "--split", "48KB"]);
      expect(split.code, split.stderr).toBe(0);
      expect(split.json().results[0].means).toEqual(whole.json().results[0].means);
      expect(split.json().results[0].server).toContain(",");
    }
    const short = tmp.file("w2.json", JSON.stringify([1, 2, 3]));
    const run = await rpcpool([
      "weighted-means",
      path,
      "--weights",
      short,
      "--split",
      "64KB",
      "--servers",
      servers.list,
      "--json",
    ]);
    expect(run.code).toBe(1);
    expect(run.json().errors[0].message).toMatch(/60000 rows but 3 weights/);
  });

  it("gives exact sums near float64's limit whole and split, and refuses what is beyond (issue 9)", async () => {
    // Column 1 climbs to 6000e308 and back to 1e308, column 2 to beyond float64: the parts of a
    // split overflow on their own, so only exact merged sums give the same answer as the whole.
    const rows = Array.from(
      { length: 12_001 },
      (_, i) => `${i < 6000 || i === 12_000 ? "1e308" : "-1e308"};0.1`,
    );
    const inRange = tmp.file("near-max.csv", `${rows.join("\n")}\n`);
    const beyond = tmp.file(
      "beyond.csv",
      `${rows.map((r) => `0.5;${r.split(";")[0]!.replace("-", "")}`).join("\n")}\n`,
    );
    for (const split of ["none", "16KB"]) {
      const args = ["column-sums", "--split", split, "--servers", servers.list, "--json"];
      const run = await rpcpool([...args, inRange]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.json().results[0].sums).toEqual([1e308, 1200.1000000000001]);
      const refused = await rpcpool([...args, beyond]);
      expect(refused.code).toBe(1);
      expect(refused.json().errors[0]).toMatchObject({
        code: "OUT_OF_RANGE",
        message: `${beyond}: column 2: the exact sum is beyond float64 range`,
      });
    }
  });

  it("divides by weights that sum to zero in a part but not in the whole; refuses a zero total", async () => {
    const table = tmp.file("ones.csv", "1e308;3\n".repeat(12_001));
    const alternating = Array.from({ length: 12_001 }, (_, i) => (i === 12_000 ? 2 : i % 2 ? -1 : 1));
    const weights = tmp.file("alternating.json", JSON.stringify(alternating));
    const zero = tmp.file("zero.json", JSON.stringify(alternating.map((w, i) => (i === 12_000 ? 0 : w))));
    for (const split of ["none", "16KB"]) {
      const args = ["weighted-means", table, "--split", split, "--servers", servers.list, "--json"];
      const run = await rpcpool([...args, "--weights", weights]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.json().results[0].means).toEqual([1e308, 3]);
      const refused = await rpcpool([...args, "--weights", zero]);
      expect(refused.code).toBe(1);
      expect(refused.json().errors[0]).toMatchObject({
        code: "INVALID_ARGUMENT",
        message: `${table}: weights sum to zero`,
      });
    }
  });

  it("refuses a bad --split with exit 2", async () => {
    const run = await rpcpool(["column-sums", file(), "--split", "lots", "--servers", servers.list]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--split/);
  });
});

describe("the split plan", () => {
  it("counts data rows (not blank lines nor the header) and lines per part", async () => {
    const text = "h;h\r\n1;2\r\n\r\n  \n3;4\n5;6\n7;8";
    const path = tmp.file("plan.csv", text);
    const parts = await planSplit(path, { partBytes: 8, header: true });
    expect(parts.reduce((n, p) => n + (p.rows ?? 0), 0)).toBe(4);
    expect(parts[0]!.start).toBe(0);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.at(-1)!.end).toBe(text.length);
    for (const [i, part] of parts.entries()) if (i > 0) expect(part.start).toBe(parts[i - 1]!.end);
    expect(parts.every((p) => p.columns === 2)).toBe(true);
    for (const part of parts) {
      expect(part.firstLine).toBe(text.slice(0, part.start).split("\n").length);
      if (part.start > 0) expect(text[part.start - 1]).toBe("\n");
    }
  });
});
