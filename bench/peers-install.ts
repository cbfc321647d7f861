// The bench's Node peers (DuckDB, issue 21) live in bench/peers/, a package of their own with its
// own lockfile: never dependencies of rpcpool, so `npm ci` of the project (and CI) installs none of
// them. The bench installs them from that lockfile on first use (`npm ci --prefix bench/peers`),
// and when it cannot (offline, no npm) says why, and the figures that need them are skipped.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Run, runProgram } from "./whole-process.js";

/**
 * bench/peers/ of the source tree, found from bench/ (the tests) or from dist/bench/ (the bench;
 * also where it is looked for when neither holds it, so that the install says it is missing).
 */
const fromDist = fileURLToPath(new URL("../../bench/peers/", import.meta.url));
const fromSource = fileURLToPath(new URL("./peers/", import.meta.url));
export const peersDir = existsSync(join(fromSource, "package.json")) ? fromSource : fromDist;

/** The peer script `name` in bench/peers/. */
export const peerScript = (name: string) => join(peersDir, name);

const bounded = ["--fetch-retries", "1", "--fetch-retry-mintimeout", "2000", "--fetch-timeout", "30000"];

export type Installed = { ok: true } | { ok: false; reason: string };

export interface InstallOptions {
  /** The peers' package (bench/peers/ by default). */
  dir?: string;
  /** npm's environment (npm_config_* included), on top of ours. */
  env?: NodeJS.ProcessEnv;
}

/**
 * `@duckdb/node-api` (pinned in bench/peers/package.json), installed if missing. Returns why not
 * when the install fails; bounded so that an offline machine does not hold the bench for long
 * (one retry, a short wait before it).
 */
export async function ensureDuckdb(
  say: (line: string) => void,
  options: InstallOptions = {},
): Promise<Installed> {
  const dir = options.dir ?? peersDir;
  const installed = () => existsSync(join(dir, "node_modules", "@duckdb", "node-api", "package.json"));
  if (installed()) return { ok: true };
  say(`  installing the DuckDB peer: npm ci --prefix ${dir}`);
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const args = ["ci", "--prefix", dir, "--no-audit", "--no-fund"];
  let run: Run;
  try {
    run = await runProgram(npm, [...args, ...bounded], { env: options.env, timeoutMs: 300_000 });
  } catch (error) {
    return { ok: false, reason: `could not run npm: ${(error as Error).message}` };
  }
  if (run.code === 0 && installed()) return { ok: true };
  const last = `${run.stderr}\n${run.stdout}`
    .trim()
    .split("\n")
    .filter((line) => /err/i.test(line))
    .slice(0, 3)
    .join(" | ");
  return {
    ok: false,
    reason: `npm ci --prefix ${dir} exited with ${run.code ?? "a signal"}${last ? `: ${last}` : ""}`,
  };
}
