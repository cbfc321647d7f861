import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lessonFileNames, lessonTableBytes } from "rpcpool/lesson";
import { afterAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// `rpcpool lesson --data DIR` never overwrites a table: it generates missing ones only into an
// empty folder or one holding nothing but its own generated tables, and says so on stderr.
const servers = useServers(2);
const tmp = tempDir();
afterAll(() => tmp.cleanup());

const lesson = (dir: string) =>
  rpcpool(["lesson", "--data", dir, "--servers", servers.list, "--json"], { timeoutMs: 120_000 });

describe("rpcpool lesson --data", () => {
  it("generates the tables into a new folder, and says so", async () => {
    const dir = join(tmp.dir, "new");
    const run = await lesson(dir);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(
      new RegExp(`generating the lesson's 10 tables missing in ${dir}: tabla_00\\.csv, `),
    );
    expect(readdirSync(dir).sort()).toEqual([...lessonFileNames].sort());
    // The second time, nothing is missing: nothing is said, nothing written.
    const again = await lesson(dir);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toContain("generating");
  });

  it("adds a missing table to a folder of its own tables, leaving the others", async () => {
    const dir = join(tmp.dir, "partial");
    mkdirSync(dir);
    const bytes = lessonTableBytes();
    for (const name of lessonFileNames.slice(1)) writeFileSync(join(dir, name), bytes);
    const run = await lesson(dir);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain("generating the lesson's 1 table missing in");
    expect(readFileSync(join(dir, lessonFileNames[0]!)).equals(Buffer.from(bytes))).toBe(true);
  });

  it("never overwrites a person's own tabla_00.csv, and uses it", async () => {
    const dir = join(tmp.dir, "mine");
    mkdirSync(dir);
    for (const name of lessonFileNames) writeFileSync(join(dir, name), "1;2\n3;4\n");
    const run = await lesson(dir);
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(join(dir, "tabla_00.csv"), "utf8")).toBe("1;2\n3;4\n");
    expect(run.json().results[0]).toMatchObject({ rows: 2, sums: [4, 6] });
  });

  it("refuses to fill a folder of a person's own files, writing nothing", async () => {
    const dir = join(tmp.dir, "theirs");
    mkdirSync(dir);
    writeFileSync(join(dir, "tabla_00.csv"), "my own data\n");
    writeFileSync(join(dir, "notes.txt"), "mine\n");
    const run = await lesson(dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--data: .*theirs holds files of its own and lacks tabla_01\.csv/);
    expect(readdirSync(dir).sort()).toEqual(["notes.txt", "tabla_00.csv"]);
    expect(readFileSync(join(dir, "tabla_00.csv"), "utf8")).toBe("my own data\n");
  });
});
