import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { floatTable } from "../bench/float-table.js";
import { ensureDuckdb, peerScript, peersDir } from "../bench/peers-install.js";
import { firstColumnSum, patternTable } from "../bench/whole-data.js";
import { tempDir } from "./support/temp-dir.js";

// The DuckDB peer of issue 21 is a bench-only package: the bench installs it, or says why not and
// skips its figures. These tests run npm and DuckDB for real; the DuckDB runs only where the bench
// has installed it (CI installs no peer).
const duckdbInstalled = existsSync(join(peersDir, "node_modules", "@duckdb", "node-api", "package.json"));

describe("the DuckDB peer's install", () => {
  it("reports why it could not install (no registry, empty cache) instead of failing", async () => {
    const tmp = tempDir("rpcpool-peers-");
    try {
      const dir = join(tmp.dir, "peers");
      mkdirSync(dir);
      for (const file of ["package.json", "package-lock.json"])
        copyFileSync(join(peersDir, file), join(dir, file));
      const said: string[] = [];
      const result = await ensureDuckdb((line) => said.push(line), {
        dir,
        // Nothing listens on port 9 of loopback, and the cache is empty: an offline machine.
        env: { npm_config_registry: "http://127.0.0.1:9/", npm_config_cache: join(tmp.dir, "cache") },
      });
      expect(result.ok).toBe(false);
      expect(result.ok ? "" : result.reason).toMatch(/^npm ci --prefix .* exited with \d+/);
      expect(said.join("\n")).toContain("installing the DuckDB peer");
    } finally {
      tmp.cleanup();
    }
  }, 120_000);

  it("does not run npm when the peer is there", async () => {
    const tmp = tempDir("rpcpool-peers-");
    try {
      const dir = join(tmp.dir, "node_modules", "@duckdb", "node-api");
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "package.json"), "{}");
      const said: string[] = [];
      expect(await ensureDuckdb((line) => said.push(line), { dir: tmp.dir })).toEqual({ ok: true });
      expect(said).toEqual([]);
    } finally {
      tmp.cleanup();
    }
  });

  it("the peer script says it is skipped, exit 3, where DuckDB is not installed", () => {
    const tmp = tempDir("rpcpool-peers-");
    try {
      const script = join(tmp.dir, "duckdb-sums.mjs");
      copyFileSync(peerScript("duckdb-sums.mjs"), script);
      const run = spawnSync(process.execPath, [script, "--type", "BIGINT", "x.csv"], { encoding: "utf8" });
      expect(run.status).toBe(3);
      expect(JSON.parse(run.stdout).skipped).toMatch(/@duckdb\/node-api is not installed/);
    } finally {
      tmp.cleanup();
    }
  });
});

const notInstalled = duckdbInstalled
  ? undefined
  : "@duckdb/node-api is not installed in bench/peers (npm run bench -- --duckdb installs it)";
describe.skipIf(notInstalled)(
  `the DuckDB peer script${notInstalled ? `: skipped, ${notInstalled}` : ""}`,
  () => {
    it("sums the lesson's integer table and the float table, one row of sums per file", () => {
      const tmp = tempDir("rpcpool-duckdb-");
      try {
        const integers = tmp.file("lesson.csv", patternTable(700));
        const floats = floatTable(5000);
        const floatPath = tmp.file("floats.csv", floats.text);
        const run = (type: string, files: string[]) => {
          const done = spawnSync(
            process.execPath,
            [peerScript("duckdb-sums.mjs"), "--type", type, ...files],
            {
              encoding: "utf8",
            },
          );
          expect(done.status, done.stderr).toBe(0);
          return JSON.parse(done.stdout) as { sums: number[][]; duckdb: string };
        };
        const ints = run("BIGINT", [integers, integers]);
        expect(ints.duckdb).toBe("v1.5.6");
        expect(ints.sums).toHaveLength(2);
        expect(ints.sums[0]).toHaveLength(40);
        expect(ints.sums[1]![0]).toBe(firstColumnSum(700));
        // DuckDB's double sums are not exactly rounded: close, not necessarily equal.
        const sums = run("DOUBLE", [floatPath]).sums[0]!;
        expect(sums).toHaveLength(6);
        sums.forEach((sum, i) => {
          expect(Math.abs(sum - floats.exactSums[i]!)).toBeLessThan(
            1e-9 * Math.abs(floats.exactSums[i]!) + 1,
          );
        });
      } finally {
        tmp.cleanup();
      }
    });
  },
);
