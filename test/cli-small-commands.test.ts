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
    for (const demo of [out.sleep, out.spin]) {
      expect(demo.calls).toHaveLength(4);
      expect(demo.speedup).toBeGreaterThan(0);
      expect(demo.efficiency).toBeCloseTo(demo.speedup / 2, 2);
      for (const call of demo.calls) expect(servers.servers.map((s) => s.address)).toContain(call.server);
    }
    expect(new Set(out.spin.calls.map((c: { server: string }) => c.server)).size).toBe(2);
  });
});
