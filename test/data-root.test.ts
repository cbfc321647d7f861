import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lessonTableBytes } from "rpcpool/lesson";
import { afterAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

const tmp = tempDir();
const root = join(tmp.dir, "root");
mkdirSync(join(root, "sub"), { recursive: true });
writeFileSync(join(root, "sub", "table.csv"), lessonTableBytes(70));
writeFileSync(join(tmp.dir, "secret.csv"), "1;2\n");
symlinkSync(join(tmp.dir, "secret.csv"), join(root, "out-link.csv"));
symlinkSync(join(root, "sub", "table.csv"), join(root, "in-link.csv"));
const served = useServers(2, { args: ["--data-root", root] });
const plain = useServers(1);
afterAll(() => tmp.cleanup());

describe("files the servers already have (--data-root, --remote-paths)", () => {
  it("computes a file named relative to the data root; only the path travels", async () => {
    // The path exists only on the servers' side: the client never opens it.
    const run = await rpcpool([
      "column-sums",
      "sub/table.csv",
      "in-link.csv",
      "--remote-paths",
      "--servers",
      served.list,
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const [a, b] = run.json().results;
    expect(a.file).toBe("sub/table.csv");
    expect(a.rows).toBe(70);
    expect(a.sums.slice(0, 2)).toEqual([380, 1800]);
    expect(b.sums).toEqual(a.sums);
  });

  it("refuses paths that escape the root with PERMISSION_DENIED, and a missing file with NOT_FOUND", async () => {
    const run = await rpcpool([
      "column-sums",
      "../secret.csv",
      "sub/../../secret.csv",
      join(tmp.dir, "secret.csv"),
      "out-link.csv",
      "nope.csv",
      "--remote-paths",
      "--servers",
      served.list,
      "--json",
    ]);
    expect(run.code).toBe(1);
    const out = run.json();
    expect(out.results).toEqual([]);
    expect(out.errors.map((e: { code: string }) => e.code)).toEqual([
      "PERMISSION_DENIED",
      "PERMISSION_DENIED",
      "PERMISSION_DENIED",
      "PERMISSION_DENIED",
      "NOT_FOUND",
    ]);
  });

  it("serves no file without --data-root", async () => {
    const run = await rpcpool([
      "column-sums",
      "sub/table.csv",
      "--remote-paths",
      "--servers",
      plain.list,
      "--json",
    ]);
    expect(run.code).toBe(1);
    expect(run.json().errors[0]).toMatchObject({ code: "FAILED_PRECONDITION" });
    expect(run.json().errors[0].message).toMatch(/--data-root/);
    // Which server refused: the one there is.
    expect(run.json().errors[0].message).toContain(plain.list);
  });

  it("moves a file a server without --data-root refused to one that has it: every file succeeds", async () => {
    // The server without a data root comes first, so it is offered files and refuses them.
    const files = ["sub/table.csv", "in-link.csv", "sub/table.csv", "in-link.csv", "sub/table.csv"];
    const run = await rpcpool([
      "column-sums",
      ...files,
      "--remote-paths",
      "--servers",
      `${plain.list},${served.servers[0]!.address}`,
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const out = run.json();
    expect(out.errors ?? []).toEqual([]);
    expect(out.results.map((r: { file: string }) => r.file)).toEqual(files);
    for (const result of out.results) expect(result.rows).toBe(70);
  });

  it("runs weighted means on remote files too", async () => {
    const weights = tmp.file("w.json", JSON.stringify(Array(70).fill(1)));
    const run = await rpcpool([
      "weighted-means",
      "sub/table.csv",
      "--weights",
      weights,
      "--remote-paths",
      "--servers",
      served.list,
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json().results[0].means[0]).toBeCloseTo(380 / 70, 12);
  });
});
