import { afterAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

const servers = useServers(2);
const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe("rpcpool weighted-means", () => {
  const table = () => tmp.file("t.csv", "1;10\n2;20\n3;30\n");

  it("divides by the sum of the weights by default (numpy.average)", async () => {
    const weights = tmp.file("w.json", "[1, 2, 1]");
    const run = await rpcpool([
      "weighted-means",
      table(),
      "--weights",
      weights,
      "--servers",
      servers.list,
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const result = run.json().results[0];
    expect(Object.keys(result).sort()).toEqual(["columns", "file", "means", "rows", "server"]);
    expect(result.means).toEqual([2, 20]);
  });

  it("divides by the row count with --divisor rows (the lesson's formula); weights one a line", async () => {
    const weights = tmp.file("w.txt", "0.5\n1\n\n0.25\n");
    const run = await rpcpool([
      "weighted-means",
      table(),
      "--weights",
      weights,
      "--divisor",
      "rows",
      "--servers",
      servers.list,
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json().results[0].means).toEqual([(0.5 + 2 + 0.75) / 3, (5 + 20 + 7.5) / 3]);
  });

  it("refuses a weight count that differs from the row count, stating both", async () => {
    const weights = tmp.file("w2.json", "[1, 2]");
    const run = await rpcpool([
      "weighted-means",
      table(),
      "--weights",
      weights,
      "--servers",
      servers.list,
      "--json",
    ]);
    expect(run.code).toBe(1);
    const error = run.json().errors[0];
    expect(error.code).toBe("INVALID_ARGUMENT");
    expect(error.message).toMatch(/3 rows/);
    expect(error.message).toMatch(/2 weights/);
  });

  it("exits 2 without --weights or with a bad divisor", async () => {
    expect((await rpcpool(["weighted-means", table(), "--servers", servers.list])).code).toBe(2);
    const weights = tmp.file("w3.json", "[1,1,1]");
    expect((await rpcpool(["weighted-means", table(), "--weights", weights, "--divisor", "mean"])).code).toBe(
      2,
    );
  });
});
