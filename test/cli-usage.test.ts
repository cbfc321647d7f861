import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LyingServer, startLyingServer } from "./support/lying-server.js";
import { rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// Mistakes a person makes on the command line: each is a short usage error (exit 2) that says
// what is wrong; with --json, every failure is still one JSON document on stdout.
const tmp = tempDir();
let counter: LyingServer;
let table: string;
beforeAll(async () => {
  counter = await startLyingServer();
  table = tmp.file("t.csv", "1;2\n");
});
afterAll(async () => {
  await counter.close();
  tmp.cleanup();
});

const unreachable = "127.0.0.1:1";

describe("--servers", () => {
  it("refuses a port beyond 65535 as a usage error", async () => {
    const run = await rpcpool(["circles", "--radii", "1", "--servers", "127.0.0.1:99999"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('"127.0.0.1:99999": the port must be from 1 to 65535');
  });

  it("says a file that does not exist does not", async () => {
    const run = await rpcpool(["circles", "--radii", "1", "--servers", join(tmp.dir, "servers.txt")]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /servers\.txt" is not HOST:PORT, dns:\/\/\/NAME:PORT, nor a file \(no such file\)/,
    );
  });

  it("warns of an unreachable server in one clean line, no dangling 'Resolution note:'", async () => {
    const run = await rpcpool(["circles", "--radii", "1", "--servers", `${unreachable},${counter.address}`]);
    expect(run.code, run.stderr).toBe(0);
    const warning = run.stderr.split("\n").find((l) => l.startsWith("warning:"));
    expect(warning).toBe(
      `warning: skipping ${unreachable}: UNAVAILABLE: connect ECONNREFUSED ${unreachable}`,
    );
    expect(run.stderr).not.toContain("Resolution note");
  });
});

describe("--json, when no server can be reached", () => {
  const commands: Record<string, string[]> = {
    "column-sums": ["column-sums", "TABLE"],
    "weighted-means": ["weighted-means", "TABLE", "--weights", "WEIGHTS"],
    circles: ["circles", "--radii", "1"],
    means: ["means", "--lists", "[[1]]"],
    demo: ["demo", "--calls", "1"],
    lesson: ["lesson", "--data", "DATA"],
    scale: ["scale", "--tasks", "1"],
  };
  const withResults = new Set(["column-sums", "weighted-means", "lesson"]);

  it.each(Object.keys(commands))("%s still prints one JSON document, exit 1", async (name) => {
    const weights = tmp.file("weights.txt", "1\n");
    const args = commands[name]!.map((a) =>
      a === "TABLE" ? table : a === "WEIGHTS" ? weights : a === "DATA" ? join(tmp.dir, "lesson") : a,
    );
    const run = await rpcpool([...args, "--servers", unreachable, "--json"]);
    expect(run.code).toBe(1);
    const out = run.json();
    expect(out.errors).toEqual([
      { code: "UNAVAILABLE", message: expect.stringContaining("no server could be reached") },
    ]);
    if (withResults.has(name)) expect(out.results).toEqual([]);
    else expect(out.results).toBeUndefined();
  });

  it("prints one for a usage error too, exit 2", async () => {
    const run = await rpcpool(["circles", "--radii", "x", "--servers", unreachable, "--json"]);
    expect(run.code).toBe(2);
    expect(run.json()).toEqual({
      errors: [{ code: "INVALID_ARGUMENT", message: expect.stringContaining("--radii") }],
    });
  });
});

describe("usage errors", () => {
  it("from commander are one line and a pointer to --help, as the tool's own", async () => {
    for (const args of [
      ["circles"],
      ["column-sums", table, "--delimter", ","],
      ["circles", "--radii", "1", "--retries", "x"],
    ]) {
      const run = await rpcpool(args);
      expect(run.code).toBe(2);
      // The error, commander's "(Did you mean --delimiter?)" where it has one, and the pointer.
      const lines = run.stderr.trim().split("\n");
      expect(lines[0]).toMatch(/^error: /);
      expect(lines.at(-1)).toMatch(/^\(see 'rpcpool (circles|column-sums) --help'\)$/);
      expect(
        lines.slice(1, -1).every((l) => l.startsWith("(Did you mean")),
        run.stderr,
      ).toBe(true);
      expect(run.stderr).not.toContain("Options:");
    }
    const ours = await rpcpool(["circles", "--radii", "3..1"]);
    expect(ours.code).toBe(2);
    expect(ours.stderr.trim().split("\n")).toEqual([
      'error: --radii: empty range "3..1"',
      "(see 'rpcpool circles --help')",
    ]);
  });

  it("--remote-paths without --servers says it needs servers started with --data-root", async () => {
    const run = await rpcpool(["column-sums", "t.csv", "--remote-paths", "--json"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--remote-paths needs --servers: servers started with --data-root DIR");
    expect(run.stderr).not.toMatch(/this server/);
    expect(run.json().errors[0].code).toBe("INVALID_ARGUMENT");
  });

  it("a --weights file that is not there is named, without ENOENT", async () => {
    const missing = join(tmp.dir, "weights.json");
    const run = await rpcpool(["weighted-means", table, "--weights", missing, "--servers", unreachable]);
    expect(run.code).toBe(2);
    expect(run.stderr.split("\n")[0]).toBe(`error: cannot read --weights ${missing}: no such file`);
  });

  it("accumulate --help does not offer --retries, which it has no use for", async () => {
    const help = await rpcpool(["accumulate", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--servers");
    expect(help.stdout).not.toContain("--retries");
    expect((await rpcpool(["column-sums", "--help"])).stdout).toContain("--retries");
  });

  it("--header's help says what the README says: the first non-blank line", async () => {
    const help = await rpcpool(["column-sums", "--help"]);
    expect(help.stdout).toMatch(/--header\s+the first non-blank line of each file is a header/);
  });
});

describe("scale --report", () => {
  it("to a path that cannot be written is refused before the experiment runs", async () => {
    const before = counter.calls.spin ?? 0;
    for (const report of [join(tmp.dir, "no-such-folder", "r.html"), tmp.dir]) {
      const run = await rpcpool([
        "scale",
        "--tasks",
        "2",
        "--iterations",
        "1",
        "--servers",
        counter.address,
        "--report",
        report,
      ]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^error: --report: /);
      expect(run.stdout).toBe("");
    }
    expect(counter.calls.spin ?? 0).toBe(before);
  });

  it("to a folder without write permission is refused too", async ({ skip }) => {
    skip(process.getuid?.() === 0, "running as root, who may write into any folder");
    const locked = join(tmp.dir, "locked");
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    const run = await rpcpool([
      "scale",
      "--tasks",
      "1",
      "--servers",
      counter.address,
      "--report",
      join(locked, "r.html"),
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("is not writable");
  });

  it("to a good path is written after the figures are printed", async () => {
    const report = join(tmp.dir, "scale.html");
    const run = await rpcpool([
      "scale",
      "--tasks",
      "2",
      "--iterations",
      "1",
      "--servers",
      counter.address,
      "--report",
      report,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^spin \(count to 1\): 2 tasks on 1 server/);
    expect(run.stderr).toContain(`report written to ${report}`);
    expect(existsSync(report)).toBe(true);
  });
});
