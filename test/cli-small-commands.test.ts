import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { rpcpool } from "./support/run-program.js";

const reference = JSON.parse(
  readFileSync(new URL("./fixtures/lesson-reference.json", import.meta.url), "utf8"),
);
const servers = useServers(2);

describe("rpcpool circles", () => {
  it("gives the lesson's printed lengths and areas with its pi", async () => {
    const run = await rpcpool([
      "circles",
      "--radii",
      "1..9",
      "--pi",
      "3.1415927",
      "--servers",
      servers.list,
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json()).toEqual({
      radii: reference.circles.radii,
      lengths: reference.circles.lengths,
      areas: reference.circles.areas,
    });
  });

  it("uses Math.PI by default and accepts a list", async () => {
    const run = await rpcpool(["circles", "--radii", "1,2.5", "--servers", servers.list, "--json"]);
    expect(run.json()).toEqual({
      radii: [1, 2.5],
      lengths: [2 * Math.PI, 2 * Math.PI * 2.5],
      areas: [Math.PI, Math.PI * 2.5 ** 2],
    });
  });

  it("refuses a negative radius with INVALID_ARGUMENT and exit 1", async () => {
    const run = await rpcpool(["circles", "--radii", "1,-2", "--servers", servers.list, "--json"]);
    expect(run.code).toBe(1);
    expect(run.json().errors[0].code).toBe("INVALID_ARGUMENT");
    expect(run.stderr).toMatch(/-2/);
  });

  it("refuses a length or area beyond float64 with OUT_OF_RANGE, not null (issue 9)", async () => {
    const run = await rpcpool(["circles", "--radii", "1,1e200", "--servers", servers.list, "--json"]);
    expect(run.code).toBe(1);
    expect(run.json().errors[0]).toMatchObject({
      code: "OUT_OF_RANGE",
      message: "radius 2 is 1e+200: its area pi*r^2 is beyond float64 range",
    });
  });

  it("exits 2 on a malformed --radii", async () => {
    expect((await rpcpool(["circles", "--radii", "one", "--servers", servers.list])).code).toBe(2);
    expect((await rpcpool(["circles", "--servers", servers.list])).code).toBe(2);
  });
});

describe("rpcpool means", () => {
  it("gives the lesson's means", async () => {
    const run = await rpcpool([
      "means",
      "--lists",
      JSON.stringify(reference.means_of_lists.input),
      "--servers",
      servers.list,
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json()).toEqual({ means: reference.means_of_lists.means });
  });

  it("rounds the exact mean once, as statistics.mean does (issue 9)", async () => {
    const lists = "[[0.1, 0.2, 0.3], [1e308, 1e308]]";
    const run = await rpcpool(["means", "--lists", lists, "--servers", servers.list, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json()).toEqual({ means: [0.2, 1e308] });
  });

  it("refuses an empty list (not NaN) with exit 1", async () => {
    const run = await rpcpool(["means", "--lists", "[[1],[]]", "--servers", servers.list, "--json"]);
    expect(run.code).toBe(1);
    expect(run.json().errors[0].code).toBe("INVALID_ARGUMENT");
  });

  it("exits 2 on lists that are not JSON", async () => {
    expect((await rpcpool(["means", "--lists", "[[1,2", "--servers", servers.list])).code).toBe(2);
  });
});

describe("rpcpool demo", () => {
  it("runs both timing demos and says who ran each call", async () => {
    const run = await rpcpool(
      [
        "demo",
        "--calls",
        "4",
        "--sleep-ms",
        "50",
        "--iterations",
        "100000",
        "--servers",
        servers.list,
        "--json",
      ],
      { timeoutMs: 60_000 },
    );
    expect(run.code, run.stderr).toBe(0);
    const out = run.json();
    expect(out.servers).toBe(2);
    // E = S/n with n the calls that ran at once: every sleep at once (they only wait), one count
    // per server (each has one worker thread). Against the 2 servers, the sleeps' E would be ~2.
    expect(out.sleep.parallelCalls).toBe(4);
    expect(out.spin.parallelCalls).toBe(2);
    for (const demo of [out.sleep, out.spin]) {
      expect(demo.calls).toHaveLength(4);
      expect(demo.speedup).toBeGreaterThan(0);
      expect(demo.efficiency).toBeCloseTo(demo.speedup / demo.parallelCalls, 2);
      for (const call of demo.calls) expect(servers.servers.map((s) => s.address)).toContain(call.server);
    }
    expect(new Set(out.spin.calls.map((c: { server: string }) => c.server)).size).toBe(2);
  });

  it("says n in words, aligns the times, and counts a lone call and a lone server in the singular", async () => {
    const run = await rpcpool(
      [
        "demo",
        "--calls",
        "1",
        "--sleep-ms",
        "10",
        "--iterations",
        "1000",
        "--servers",
        servers.servers[0]!.address,
      ],
      { timeoutMs: 60_000 },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("1 call of sleep(10 ms)");
    expect(run.stdout).toMatch(/^parallel \(1 server\):/m);
    expect(run.stdout).not.toMatch(/\b1 (servers|calls)\b/);
    // The two times end in the same column, and the call table's times have one decimal each.
    const times = run.stdout.split("\n").filter((l) => /^(sequential|parallel) \(/.test(l));
    expect(times).toHaveLength(4);
    for (let i = 0; i < times.length; i += 2) expect(times[i]!.length).toBe(times[i + 1]!.length);
    expect(run.stdout).toMatch(/efficiency E = S\/n = [\d.]+ \(n = 1\)/);
    const rows = run.stdout.split("\n").filter((l) => /^\s+1\s+127\.0\.0\.1/.test(l));
    for (const row of rows) expect(row).toMatch(/\d+\.\d$/);
  });

  it("by default, counts long enough for a stable speed-up: hundreds of ms a call", async () => {
    const help = await rpcpool(["demo", "--help"]);
    expect(help.stdout).toMatch(/--iterations <n>.*\(default: 500000000\)/s);
  });
});
