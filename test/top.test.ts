import { afterAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";
import { interruptOnTerminal, noTerminal, onTerminal } from "./support/terminal.js";

// `rpcpool top` (docs/observability.md) against two real server processes: each server counts the
// calls it finished itself (StatsService), and `top --json` reports both.
const servers = useServers(2);
const tokenFile = tempDir();
const token = tokenFile.file("token", "top-s3cret\n");
const guarded = useServers(1, { args: ["--token-file", token] });
afterAll(() => tokenFile.cleanup());
const means = "rpcpool.compute.v1.ComputeService/Means";
const tmp = tempDir();
afterAll(() => tmp.cleanup());

const sum = (rows: any[], field: string) => rows.reduce((n, row) => n + (row[field] ?? 0), 0);

describe("rpcpool top --json", () => {
  it("reports both servers, with completed adding up to the calls made (batch items each counted)", async () => {
    const before = (await rpcpool(["top", "--json", "--servers", servers.list])).json().servers;
    expect(before.map((row: any) => row.address).sort()).toEqual(
      servers.servers.map((s) => s.address).sort(),
    );
    // Info, Stats, health and reflection are not work: asking leaves the counts at 0.
    expect(sum(before, "completed")).toBe(0);

    // 40 calls as batches (map sends them in chunks of 8 over both servers), one alone, one failing.
    const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ lists: [{ values: [i, i + 1] }] }));
    const file = tmp.file("means.jsonl", `${lines.join("\n")}\n`);
    const mapped = await rpcpool(["map", means, file, "--chunksize", "8", "--servers", servers.list]);
    expect(mapped.code, mapped.stderr).toBe(0);
    const one = servers.servers[0]!.address;
    const called = await rpcpool(["call", means, '{"lists":[{"values":[1,2]}]}', "--servers", one]);
    expect(called.code, called.stderr).toBe(0);
    const failed = await rpcpool(["call", means, '{"lists":[{"values":[]}]}', "--servers", one]);
    expect(failed.code).not.toBe(0);

    const run = await rpcpool(["top", "--json", "--servers", servers.list]);
    expect(run.code, run.stderr).toBe(0);
    const rows = run.json().servers;
    expect(rows).toHaveLength(2);
    expect(sum(rows, "completed")).toBe(41);
    expect(sum(rows, "failed")).toBe(1);
    for (const row of rows) {
      expect(row).toMatchObject({ version: expect.any(String), workers: 1, workersBusy: 0, inFlight: 0 });
      expect(row.name).toBe(row.address);
      expect(row.uptimeSeconds).toBeGreaterThan(0);
      expect(row.p95Ms).toBeGreaterThanOrEqual(row.p50Ms);
      // Every call was a Means: its own count is the server's (Invoke is counted by its items).
      const method = row.methods.find((m: any) => m.method === `/${means}`);
      expect(method?.completed ?? 0).toBe(row.completed);
      expect(row.methods.map((m: any) => m.method)).not.toContain("/rpcpool.pool.v1.BatchService/Invoke");
    }
  });

  it("lists a server it cannot reach as a row saying so, and exits 1", async () => {
    const run = await rpcpool(["top", "--json", "--servers", `${servers.list},127.0.0.1:1`]);
    expect(run.code).toBe(1);
    const rows = run.json().servers;
    expect(rows).toHaveLength(3);
    expect(rows[2]).toMatchObject({ address: "127.0.0.1:1", error: expect.stringMatching(/UNAVAILABLE/) });
    expect(rows[0].error).toBeUndefined();
  });

  it("prints a table when stdout is not a terminal", async () => {
    const run = await rpcpool(["top", "--servers", servers.list]);
    expect(run.code, run.stderr).toBe(0);
    for (const s of servers.servers) expect(run.stdout).toContain(s.address);
    expect(run.stdout).toMatch(/completed/);
  });
});

describe("rpcpool top --token-file", () => {
  it("asks a server with a token only with it: without, the row says UNAUTHENTICATED", async () => {
    const ok = await rpcpool(["top", "--json", "--servers", guarded.list, "--token-file", token]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json().servers[0]).toMatchObject({ address: guarded.list, completed: 0 });
    const refused = await rpcpool(["top", "--json", "--servers", guarded.list]);
    expect(refused.code).toBe(1);
    expect(refused.json().servers[0].error).toMatch(/UNAUTHENTICATED/);
  });
});

describe.skipIf(noTerminal)("rpcpool top on a terminal", () => {
  it("redraws the view in place, one row per server (--count ends it)", () => {
    const output = onTerminal(["top", "--servers", servers.list, "--count", "2", "--interval-ms", "100"]);
    // Cleared and redrawn twice: the screen's home-and-clear before each view.
    expect(output.split("\x1b[H\x1b[J")).toHaveLength(3);
    for (const s of servers.servers) expect(output).toContain(s.address);
    expect(output).toContain("Ctrl-C ends");
  });

  it("ends on Ctrl-C", async () => {
    // Typed once the last server's row is on the screen: a live view ended by its user is a success.
    const last = servers.servers[1]!.address;
    const { output, code } = await interruptOnTerminal(["top", "--servers", servers.list], last);
    expect(output).toContain(servers.servers[0]!.address);
    expect(code).toBe(0);
  });
});
