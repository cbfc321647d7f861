import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProgram, serverProgram } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// rpcpool-server's start-up failures as a person meets them: each names what is wrong and what to
// do, in one line, without grpc-js's or Node's internal words.
const tmp = tempDir();
let holder: Server;
let taken: number;
beforeAll(async () => {
  holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
  taken = (holder.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((resolve) => holder.close(resolve));
  tmp.cleanup();
});

const server = (args: string[]) =>
  runProgram(serverProgram, ["--workers", "1", ...args], { timeoutMs: 30_000 });

describe("rpcpool-server start-up", () => {
  it("says a port in use is in use, and to try --port 0 (exit 1)", async () => {
    const run = await server(["--port", String(taken)]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split("\n")).toEqual([
      `error: port ${taken} is already in use on 127.0.0.1 (try --port 0 for a free one)`,
    ]);
  });

  it("names a --data-root that does not exist, as a usage error (exit 2)", async () => {
    const missing = join(tmp.dir, "no-such-data");
    const run = await server(["--port", "0", "--data-root", missing]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`error: --data-root ${missing}: no such folder`);
    expect(run.stderr).not.toMatch(/ENOENT|UNKNOWN|realpath/);
  });

  it("names a --data-root that is a file, as a usage error (exit 2)", async () => {
    const file = tmp.file("data.csv", "1;2\n");
    const run = await server(["--port", "0", "--data-root", file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`error: --data-root ${file}: not a folder`);
  });
});
