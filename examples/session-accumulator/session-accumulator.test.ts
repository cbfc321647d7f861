import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reflectionList } from "../../test/support/grpc-clients.js";
import { root, runProgram } from "../../test/support/run-program.js";

const dir = join(root, "dist", "examples", "session-accumulator");
let server: ChildProcess;
let address = "";
let serverLog = "";

beforeAll(async () => {
  server = spawn(process.execPath, [join(dir, "server.js"), "--port", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  server.stderr!.on("data", (data) => {
    serverLog += data;
  });
  const [line] = (await once(createInterface({ input: server.stdout! }), "line")) as [string];
  address = line.replace("listening on ", "");
});
afterAll(async () => {
  server.kill("SIGTERM");
  if (server.exitCode === null) await once(server, "exit");
});

async function logSays(text: string): Promise<void> {
  for (let i = 0; i < 500 && !serverLog.includes(text); i++) await sleep(10);
  expect(serverLog).toContain(text);
}

describe("the example: a session with a remote object and callbacks", () => {
  it("keeps the tally on the server between calls while the server pulls input and reports progress", async () => {
    const run = await runProgram(join(dir, "client.js"), ["--servers", address]);
    expect(run.code, run.stderr).toBe(0);
    const out = run.json();
    expect(out.added).toEqual({ label: "demo", count: 2, sum: 30, mean: 15, server: address });
    expect(out.pulled).toEqual({
      tally: { label: "demo", count: 8, sum: 51, mean: 6.375, server: address },
      batches: 3,
    });
    expect(out.progress).toEqual([
      { batches: 1, count: 5 },
      { batches: 2, count: 7 },
      { batches: 3, count: 8 },
    ]);
    await logSays('tally "demo" released: object 1 was released\n');
  });

  it("releases the object of a client killed mid-session", async () => {
    serverLog = "";
    const client = spawn(process.execPath, [join(dir, "client.js"), "--servers", address, "--hold"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    // The server is inside AddFromSource, waiting on the client's callback.
    await once(createInterface({ input: client.stdout! }), "line");
    client.kill("SIGKILL");
    await logSays('tally "demo" released: object 1 was released: the session ended');
  });

  it("lists the session class's proto in reflection beside the framework's SessionService", async () => {
    expect(await reflectionList(address)).toEqual(
      expect.arrayContaining(["acme.tally.v1.TallyService", "rpcpool.pool.v1.SessionService"]),
    );
  });
});
