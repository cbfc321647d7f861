import { lessonTableBytes } from "rpcpool/lesson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { type Lie, type LyingServer, startLyingServer } from "./support/lying-server.js";
import { rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// A malformed reply is its server's fault: the CLI checks every reply (fields, counts, finite
// numbers), moves the task to another server, and says INTERNAL naming the server when no other
// is left. Never a crash, never "undefined" with exit 0.
const honest = useServers(1);
const tmp = tempDir();
let liar: LyingServer;
let table: string;
beforeAll(async () => {
  liar = await startLyingServer();
  table = tmp.file("t.csv", "1;2\n3;4\n");
});
afterAll(async () => {
  await liar.close();
  tmp.cleanup();
});

const lies: Lie[] = ["no-served-by", "short", "nan", "wrong-bytes", "wrong-columns"];

describe("a malformed column-sums reply", () => {
  it.each(lies)("(%s) moves the file to another server, which computes it", async (lie) => {
    liar.lie = lie;
    // The liar is listed first: with both idle, it gets the file first.
    const run = await rpcpool([
      "column-sums",
      table,
      "--servers",
      `${liar.address},${honest.list}`,
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const out = run.json();
    expect(out.errors).toEqual([]);
    expect(out.results[0]).toMatchObject({ rows: 2, columns: 2, sums: [4, 6], server: honest.list });
    expect(run.stderr).toContain(`retried: ${table}: ${liar.address} -> ${honest.list}`);
  });

  it("of a part of a split file names the part in its retried: line", async () => {
    liar.lie = "short";
    const big = tmp.file("split.csv", lessonTableBytes(2000));
    const run = await rpcpool([
      "column-sums",
      big,
      "--split",
      "64KB",
      "--servers",
      `${liar.address},${honest.list}`,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stderr.split("\n").filter((l) => l.startsWith("retried:"));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).toMatch(new RegExp(`^retried: ${big} part \\d+/\\d+: ${liar.address} -> ${honest.list}$`));
    }
    expect(new Set(lines).size).toBe(lines.length);
  });

  it.each(lies)("(%s) from the only server is INTERNAL naming it, exit 1", async (lie) => {
    liar.lie = lie;
    const run = await rpcpool(["column-sums", table, "--servers", liar.address, "--retries", "0"]);
    expect(run.code).toBe(1);
    expect(run.stdout).not.toContain("undefined");
    expect(run.stderr).toMatch(new RegExp(`INTERNAL: ${liar.address} sent a malformed reply`));
    expect(run.stderr).not.toMatch(/Cannot read properties|TypeError/);
  });
});

describe("a malformed circles reply", () => {
  it.each(["no-served-by", "short", "nan"] as Lie[])("(%s) is retried elsewhere", async (lie) => {
    liar.lie = lie;
    const run = await rpcpool(["circles", "--radii", "1,2", "--servers", `${liar.address},${honest.list}`]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`(on ${honest.list})`);
    expect(run.stdout).not.toMatch(/undefined|NaN/);
  });

  it.each(["no-served-by", "short", "nan"] as Lie[])(
    "(%s) from the only server fails in words",
    async (lie) => {
      liar.lie = lie;
      const run = await rpcpool([
        "circles",
        "--radii",
        "1,2",
        "--servers",
        liar.address,
        "--retries",
        "0",
        "--json",
      ]);
      expect(run.code).toBe(1);
      expect(run.json().errors[0]).toMatchObject({ code: "INTERNAL" });
      expect(run.json().errors[0].message).toContain(liar.address);
    },
  );
});

describe("a malformed sleep reply in the demo", () => {
  it("moves the call to the honest server", async () => {
    liar.lie = "no-served-by";
    // The honest server first: the sequential baseline runs on the first server alone.
    const run = await rpcpool([
      "demo",
      "--calls",
      "2",
      "--sleep-ms",
      "1",
      "--iterations",
      "1000",
      "--servers",
      `${honest.list},${liar.address}`,
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(liar.calls.sleep).toBeGreaterThan(0);
    for (const call of run.json().sleep.calls) expect(call.server).toBe(honest.list);
  });
});

describe("a server's name", () => {
  it("is printed without its terminal escape codes", async () => {
    const evil = await startLyingServer("evil\u001b]0;pwned\u0007\u001b[2J\u001b[31m\u009b1m");
    try {
      const run = await rpcpool(["column-sums", table, "--servers", evil.address]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain("on evil?]0;pwned??[2J?[31m?1m");
      expect(run.stdout + run.stderr).not.toMatch(/[\u001b\u009b]/);
      const json = await rpcpool(["column-sums", table, "--servers", evil.address, "--json"]);
      // JSON escapes it: a program reading the document gets the name as the server said it.
      expect(json.stdout).toContain("\\u001b");
      expect(json.stdout).not.toMatch(/[\u001b\u009b]/);
      expect(json.json().results[0].server).toBe("evil\u001b]0;pwned\u0007\u001b[2J\u001b[31m\u009b1m");
    } finally {
      await evil.close();
    }
  });
});
