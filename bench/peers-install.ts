// The bench's Node peers (DuckDB, issue 21) live in bench/peers/, a package of their own with its
// own lockfile: never dependencies of rpcpool, so `npm ci` of the project (and CI) installs none of
// them. The bench installs them from that lockfile on first use (`npm ci --prefix bench/peers`),
// and when it cannot (offline, no npm) says why, and the figures that need them are skipped.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runProgram } from "./whole-process.js";

/** bench/peers/ of the source tree, found from dist/bench/. */
export const peersDir = fileURLToPath(new URL("../../bench/peers/", import.meta.url));

/** The peer script `name` in bench/peers/. */
export const peerScript = (name: string) => join(peersDir, name);

export type Installed = { ok: true } | { ok: false; reason: string };

/**
 * `@duckdb/node-api` (pinned in bench/peers/package.json), installed if missing. Returns why not
 * when the install fails; bounded so that an offline machine does not hold the bench for long.
 */
export async function ensureDuckdb(say: (line: string) => void): Promise<Installed> {
  if (existsSync(join(peersDir, "node_modules", "@duckdb", "node-api", "package.json"))) return { ok: true };
  say(`  installing the DuckDB peer: npm ci --prefix ${peersDir}`);
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  let run: Awaited<ReturnType<typeof runProgram>>;
  try {
    run = await runProgram(
      npm,
      [
        "ci",
        "--prefix",
        peersDir,
        "--no-audit",
        "--no-fund",
        "--fetch-retries",
        "1",
        "--fetch-timeout",
        "30000",
      ],
      { timeoutMs: 300_000 },
    );
  } catch (error) {
    return { ok: false, reason: `could not run npm: ${(error as Error).message}` };
  }
  if (run.code === 0 && existsSync(join(peersDir, "node_modules", "@duckdb", "node-api", "package.json")))
    return { ok: true };
  const last = `${run.stderr}\n${run.stdout}`
    .trim()
    .split("\n")
    .filter((line) => /err/i.test(line))
    .slice(0, 3)
    .join(" | ");
  return {
    ok: false,
    reason: `npm ci --prefix bench/peers exited with ${run.code ?? "a signal"}${last ? `: ${last}` : ""}`,
  };
}
