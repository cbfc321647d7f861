import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { root } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// Every server thread loads the lesson's worker module (src/lesson/host/table-worker.ts) and what
// it imports. grpc-js among them cost each thread ~7 MiB, and ServerError (the google.rpc codecs
// and protobuf's runtime) a few more: the server's peak on a 1.1 GB table (bench/server-memory.ts)
// rose from ~151 to ~167 MiB when remote-file-range.ts brought both in. Type-only imports are
// free; what counts is what the module really loads.
const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe("the worker threads' modules", () => {
  it("table-worker.js loads no package: neither grpc-js nor protobuf's runtime", () => {
    const loads = join(tmp.dir, "loads.txt");
    const worker = pathToFileURL(join(root, "dist", "src", "lesson", "host", "table-worker.js")).href;
    const run = spawnSync(
      process.execPath,
      [
        "--import",
        join(root, "test", "support", "module-loads.mjs"),
        "--input-type=module",
        "-e",
        `await import(${JSON.stringify(worker)})`,
      ],
      { env: { ...process.env, RPCPOOL_TEST_MODULE_LOADS: loads }, encoding: "utf8", timeout: 30_000 },
    );
    expect(run.status, run.stderr).toBe(0);
    const urls = readFileSync(loads, "utf8").split("\n").filter(Boolean);
    expect(urls.some((url) => url.endsWith("/table-worker.js"))).toBe(true);
    const packages = new Set(
      urls
        .filter((url) => url.includes("/node_modules/"))
        .map((url) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)![1]),
    );
    expect([...packages]).toEqual([]);
  });
});
