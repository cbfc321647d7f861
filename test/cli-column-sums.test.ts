import { readFileSync } from "node:fs";
import { lessonTableBytes } from "rpcpool/lesson";
import { afterAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

const reference = JSON.parse(
  readFileSync(new URL("./fixtures/lesson-reference.json", import.meta.url), "utf8"),
);
const servers = useServers(2);
const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe("rpcpool column-sums --json", () => {
  it("computes the lesson's sums for every table, in input order, each with its server", async () => {
    const files = [0, 1, 2, 3].map((i) => tmp.file(`tabla_0${i}.csv`, lessonTableBytes()));
    const run = await rpcpool(["column-sums", ...files, "--servers", servers.list, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const out = run.json();
    expect(out.errors).toEqual([]);
    expect(out.results.map((r: { file: string }) => r.file)).toEqual(files);
    for (const result of out.results) {
      expect(Object.keys(result).sort()).toEqual(["columns", "file", "rows", "server", "sums"]);
      expect(result.rows).toBe(reference.column_sums.rows);
      expect(result.columns).toBe(reference.column_sums.columns);
      expect(result.sums).toEqual(reference.column_sums.sums);
      expect(servers.servers.map((s) => s.address)).toContain(result.server);
    }
    // Dynamic hand-out: with four files and two servers, both servers work.
    expect(new Set(out.results.map((r: { server: string }) => r.server)).size).toBe(2);
  });

  it("reports a malformed cell with file, line and column, and still computes the other files", async () => {
    const good = tmp.file("good.csv", "1;2\n3;4\n");
    const bad = tmp.file("bad.csv", "1;2\n3;x\n5;6\n");
    const run = await rpcpool(["column-sums", bad, good, "--servers", servers.list, "--json"]);
    expect(run.code).toBe(1);
    const out = run.json();
    expect(out.results).toHaveLength(1);
    expect(out.results[0]).toMatchObject({ file: good, rows: 2, columns: 2, sums: [4, 6] });
    expect(out.errors).toHaveLength(1);
    expect(out.errors[0].file).toBe(bad);
    expect(out.errors[0].code).toBe("INVALID_ARGUMENT");
    expect(out.errors[0].message).toContain(bad);
    expect(out.errors[0].message).toMatch(/line 2, column 2/);
    expect(run.stderr).toMatch(/INVALID_ARGUMENT/);
  });

  it("reports a missing file as NOT_FOUND without losing the others", async () => {
    const good = tmp.file("g2.csv", "1\n2\n");
    const run = await rpcpool([
      "column-sums",
      good,
      `${tmp.dir}/missing.csv`,
      "--servers",
      servers.list,
      "--json",
    ]);
    expect(run.code).toBe(1);
    const out = run.json();
    expect(out.results[0].sums).toEqual([3]);
    expect(out.errors[0]).toMatchObject({ code: "NOT_FOUND" });
  });

  it("reads tab-delimited, decimal-comma, header, CRLF, BOM and blank lines", async () => {
    const tab = tmp.file("tab.csv", "a\tb\n1,5\t2\n\n2,5\t-1e1\n");
    let run = await rpcpool([
      "column-sums",
      tab,
      "--delimiter",
      "tab",
      "--decimal",
      ",",
      "--header",
      "--servers",
      servers.list,
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json().results[0]).toMatchObject({ rows: 2, columns: 2, sums: [4, -8] });
    const literalTab = await rpcpool([
      "column-sums",
      tab,
      "--delimiter",
      "\t",
      "--decimal",
      ",",
      "--header",
      "--servers",
      servers.list,
      "--json",
    ]);
    expect(literalTab.json().results[0].sums).toEqual([4, -8]);
    const crlf = tmp.file(
      "crlf.csv",
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(" 1 ; .5 \r\n2;5.\r\n")]),
    );
    run = await rpcpool(["column-sums", crlf, "--servers", servers.list, "--json"]);
    expect(run.json().results[0]).toMatchObject({ rows: 2, sums: [3, 5.5] });
  });

  it("gives correctly rounded sums (math.fsum)", async () => {
    const file = tmp.file(
      "fsum.csv",
      "1e16;0.1\n1;0.1\n-1e16;0.1\n0;0.1\n0;0.1\n0;0.1\n0;0.1\n0;0.1\n0;0.1\n0;0.1\n",
    );
    const run = await rpcpool(["column-sums", file, "--servers", servers.list, "--json"]);
    expect(run.json().results[0].sums).toEqual([1, 1]);
  });

  it("prints a readable table by default", async () => {
    const file = tmp.file("plain.csv", "1;2\n3;4\n");
    const run = await rpcpool(["column-sums", file, "--servers", servers.list]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("2 rows x 2 columns");
    expect(run.stdout).toMatch(/4\s+6/);
  });

  it("exits 2 on usage errors", async () => {
    const file = tmp.file("u.csv", "1\n");
    for (const args of [
      ["column-sums"],
      ["column-sums", file, "--delimiter", "ab"],
      ["column-sums", file, "--decimal", ";"],
      ["column-sums", file, "--servers", "nonsense"],
      ["no-such-command"],
    ]) {
      const run = await rpcpool(args);
      expect(run.code, `${args.join(" ")}: ${run.stderr}`).toBe(2);
      expect(run.stderr.length).toBeGreaterThan(0);
    }
  });
});
