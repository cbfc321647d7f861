import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { healthCheck, reflectionList } from "../../test/support/grpc-clients.js";
import { root, runProgram } from "../../test/support/run-program.js";

const dir = join(root, "dist", "examples", "stats-service");
const children: ChildProcess[] = [];
const addresses: string[] = [];

beforeAll(async () => {
  for (let i = 0; i < 2; i++) {
    const child = spawn(process.execPath, [join(dir, "server.js"), "--port", "0"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(child);
    const [line] = (await once(createInterface({ input: child.stdout! }), "line")) as [string];
    addresses.push(line.replace("listening on ", ""));
  }
});
afterAll(async () => {
  for (const child of children) child.kill("SIGTERM");
  await Promise.all(children.map((child) => (child.exitCode === null ? once(child, "exit") : undefined)));
});

describe("the example: a user's own service on rpcpool", () => {
  it("fans the user's methods out over two servers, batched and on worker threads", async () => {
    const run = await runProgram(join(dir, "client.js"), ["--servers", addresses.join(",")]);
    expect(run.code, run.stderr).toBe(0);
    const out = run.json();
    expect(out.described.map((d: { mean: number }) => d.mean)).toEqual([2.5, 15, 5.25]);
    expect(out.primes.map((p: { count: number }) => p.count)).toEqual([1229, 2262, 3245, 4203]);
    expect(new Set(out.primes.map((p: { server: string }) => p.server))).toEqual(new Set(addresses));
  });

  it("serves health and reflection for the user's service too", async () => {
    expect(await healthCheck(addresses[0]!, "acme.stats.v1.StatsService")).toBe("SERVING");
    expect(await reflectionList(addresses[0]!)).toEqual(
      expect.arrayContaining([
        "acme.stats.v1.StatsService",
        "rpcpool.pool.v1.InfoService",
        "rpcpool.pool.v1.BatchService",
      ]),
    );
  });
});
