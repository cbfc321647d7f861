import { lessonColumnSums, lessonTableBytes } from "rpcpool/lesson";
import { afterAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

const servers = useServers(2);
const temp = tempDir();
afterAll(() => temp.cleanup());

describe("rpcpool accumulate", () => {
  it("prints the running sums after each file, all from one accumulator on one server", async () => {
    const table = temp.file("t.csv", lessonTableBytes(70));
    const run = await rpcpool(["accumulate", table, table, "--servers", servers.list, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const { results, errors } = run.json();
    expect(errors).toEqual([]);
    expect(results.map((r: { tables: number; totalRows: number }) => [r.tables, r.totalRows])).toEqual([
      [1, 70],
      [2, 140],
    ]);
    expect(results[1].sums).toEqual(lessonColumnSums(70).map((sum) => sum * 2));
    expect(new Set(results.map((r: { server: string }) => r.server)).size).toBe(1);
  });

  it("reports a refused file with its code, goes on with the others, and exits 1", async () => {
    const good = temp.file("good.csv", "1;2\n");
    const bad = temp.file("bad.csv", "1;2;3\n");
    const run = await rpcpool([
      "accumulate",
      good,
      bad,
      "missing.csv",
      good,
      "--servers",
      servers.list,
      "--json",
    ]);
    expect(run.code).toBe(1);
    const { results, errors } = run.json();
    expect(results.map((r: { sums: number[] }) => r.sums)).toEqual([
      [1, 2],
      [2, 4],
    ]);
    expect(errors.map((e: { code: string }) => e.code)).toEqual(["INVALID_ARGUMENT", "NOT_FOUND"]);
    expect(run.stderr).toContain("3 columns, but the tables added before have 2");
  });

  it("holds the accumulator on the server it is told to", async () => {
    const second = servers.servers[1]!.address;
    const run = await rpcpool([
      "accumulate",
      temp.file("x.csv", "5\n"),
      "--servers",
      servers.list,
      "--server",
      second,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`on ${second}`);
  });
});
