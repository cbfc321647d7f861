import { execFile } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ensureLessonTables } from "rpcpool/lesson";
import { type LocalServer, startLocalServers } from "rpcpool/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without types
import { docSnippets, writeSnippetProject } from "../scripts/doc-snippets.mjs";
import { noRedis, type RedisProcess, startRedis } from "./support/redis-server.js";

// Every ```ts block of README.md and docs/*.md, read from the Markdown now: type-checked by tsc, then
// run by node against real servers (the convention is in scripts/doc-snippets.mjs).
const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));
type Snippet = { doc: string; line: number; name: string; code: string; run: boolean; why: string };
const snippets: Snippet[] = docSnippets(root);
// Inside the repository, so that "rpcpool" resolves to this package by its own name.
const dir = join(root, ".doc-snippets", String(process.pid));

let servers: LocalServer[] = [];
let redis: RedisProcess | undefined;
let typeErrors = "";

beforeAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  await ensureLessonTables(join(dir, "data", "lesson"), 200);
  writeSnippetProject(root, dir, snippets);
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const [checked, started] = await Promise.all([
    run(process.execPath, [tsc, "-p", dir], { cwd: dir }).then(
      () => "",
      (error: { stdout?: string }) => error.stdout ?? String(error),
    ),
    (async () => {
      redis = noRedis ? undefined : await startRedis();
      // Two lesson servers, which also work the durable queue when there is a Redis.
      return startLocalServers(2, {
        workers: 1,
        stderr: "ignore",
        args: redis ? ["--queue", redis.url] : [],
      });
    })(),
  ]);
  typeErrors = checked;
  servers = started;
}, 120_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the documentation's TypeScript", () => {
  it("has snippets in README.md and docs/", () => {
    expect(snippets.filter((s) => s.doc === "README.md").length).toBeGreaterThanOrEqual(3);
    expect(snippets.some((s) => s.doc.startsWith("docs/"))).toBe(true);
    // A block that is only type-checked says why.
    for (const s of snippets.filter((s) => !s.run)) expect(s.why, `${s.doc}:${s.line}`).not.toBe("");
  });

  for (const snippet of snippets) {
    const where = `${snippet.doc}:${snippet.line}`;
    it(`${where} type-checks${snippet.run ? " and runs" : ` (not run: ${snippet.why})`}`, async () => {
      const errors = typeErrors
        .split("\n")
        .filter((line) => line.startsWith(`${snippet.name}.ts(`))
        .map((line) => line.replace(`${snippet.name}.ts(`, `${where} (snippet line `));
      expect(errors).toEqual([]);
      if (!snippet.run) return;
      if (/RPCPOOL_QUEUE/.test(snippet.code) && !redis) return; // no redis-server here: said by noRedis
      const env = {
        ...process.env,
        RPCPOOL_SERVERS: servers.map((s) => s.address).join(","),
        RPCPOOL_QUEUE: redis?.url ?? "",
      };
      const result = await run(process.execPath, [join(dir, `${snippet.name}.js`)], {
        cwd: dir,
        env,
        timeout: 30_000,
      }).catch((error: { stderr?: string; message: string }) => ({
        stdout: "",
        stderr: error.stderr ?? error.message,
        failed: true,
      }));
      expect("failed" in result ? `${where} failed:\n${result.stderr}` : "").toBe("");
    });
  }
});
