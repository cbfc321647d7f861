import { spawn } from "node:child_process";
import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { clientProgram, collectRun, root } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// A file the user may not read, or a folder given for a file: the message says so in a person's
// words, as a missing file's does ("no such file"), never Node's "EACCES: permission denied,
// open '/path'" or "EISDIR: illegal operation on a directory, read".
const servers = useServers(1);
const tmp = tempDir();
chmodSync(tmp.dir, 0o755); // the user below must reach the file, to be refused by its own mode
afterAll(() => tmp.cleanup());
const method = "rpcpool.compute.v1.ComputeService/Means";

/** The client as an unprivileged user: root reads any file, whatever its mode. */
function asUser(args: string[]) {
  const root0 = process.getuid?.() === 0;
  const child = spawn(process.execPath, [clientProgram, ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    ...(root0 ? { uid: 65534, gid: 65534 } : {}),
  });
  return collectRun(child, args.join(" "), 30_000);
}

const locked = (name: string, content: string) => {
  const path = tmp.file(name, content);
  chmodSync(path, 0o000);
  return path;
};

describe("an unreadable input", () => {
  it("column-sums: PERMISSION_DENIED, 'permission denied', exit 1", async () => {
    const table = locked("t.csv", "1;2\n");
    const run = await asUser(["column-sums", table, "--servers", servers.list, "--json"]);
    expect(run.code).toBe(1);
    expect(run.json().errors).toEqual([
      { file: table, code: "PERMISSION_DENIED", message: `cannot read ${table}: permission denied` },
    ]);
    expect(run.stderr.split("\n")[0]).toBe(
      `error: ${table}: PERMISSION_DENIED: cannot read ${table}: permission denied`,
    );
  });

  it("map: a usage error saying 'permission denied', exit 2", async () => {
    const input = locked("in.jsonl", '{"lists":[]}\n');
    const run = await asUser(["map", method, input, "--servers", servers.list]);
    expect(run.code).toBe(2);
    expect(run.stderr.split("\n")[0]).toBe(`error: cannot read ${input}: permission denied`);
  });

  it("map: a folder is said to be one, exit 2", async () => {
    const folder = join(tmp.dir, "lines");
    mkdirSync(folder);
    const run = await asUser(["map", method, folder, "--servers", servers.list]);
    expect(run.code).toBe(2);
    expect(run.stderr.split("\n")[0]).toBe(`error: cannot read ${folder}: it is a folder, not a file`);
  });
});
