import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { Pool } from "rpcpool";
import { LessonClient } from "rpcpool/lesson";
import { afterEach, describe, expect, it } from "vitest";
import { healthCheck, reflectionList } from "./support/grpc-clients.js";
import { runProgram, serverProgram } from "./support/run-program.js";

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

/** Starts rpcpool-server exactly as a user would, returning the process and its first stdout line. */
async function startServer(args: string[]) {
  const child = spawn(process.execPath, [serverProgram, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  const [line] = (await once(createInterface({ input: child.stdout! }), "line")) as [string];
  return { child, line, address: line.replace(/^listening on /, "") };
}

describe("rpcpool-server", () => {
  it("prints exactly `listening on HOST:PORT` first, with --port 0 picking a free port", async () => {
    const { line } = await startServer(["--port", "0", "--workers", "1"]);
    expect(line).toMatch(/^listening on 127\.0\.0\.1:\d+$/);
    expect(line).not.toMatch(/:0$/);
  });

  it("answers health checks and reflection", async () => {
    const { address } = await startServer(["--port", "0", "--workers", "1"]);
    expect(await healthCheck(address)).toBe("SERVING");
    expect(await healthCheck(address, "rpcpool.compute.v1.ComputeService")).toBe("SERVING");
    const services = await reflectionList(address);
    expect(services).toEqual(
      expect.arrayContaining([
        "rpcpool.compute.v1.ComputeService",
        "rpcpool.compute.v1.DemoService",
        "grpc.health.v1.Health",
      ]),
    );
  });

  it("answers health checks while its workers are busy", async () => {
    const { address } = await startServer(["--port", "0", "--workers", "1"]);
    const pool = await Pool.connect([address]);
    try {
      let spinDone = false;
      const spin = new LessonClient(pool).spin(3_000_000_000).then(() => {
        spinDone = true;
      });
      // The spin is on the server's only worker thread (polled: loaded cores are slow to start it).
      await expect
        .poll(async () => (await pool.servers[0]!.refreshInfo()).callsInFlight, { timeout: 10_000 })
        .toBe(1);
      expect(await healthCheck(address)).toBe("SERVING");
      expect(spinDone).toBe(false);
      await spin;
    } finally {
      await pool.close();
    }
  });

  it("on SIGTERM stops taking calls, finishes the one in flight, and exits 0", async () => {
    const { child, address } = await startServer(["--port", "0", "--workers", "1"]);
    const pool = await Pool.connect([address], { retries: 0 });
    try {
      const inFlight = new LessonClient(pool).sleep(1500);
      // SIGTERM only once the call is on the server: sent earlier, it would be refused, not finished.
      await expect
        .poll(async () => (await pool.servers[0]!.refreshInfo()).callsInFlight, { timeout: 10_000 })
        .toBe(1);
      child.kill("SIGTERM");
      const exit = once(child, "exit");
      const result = await inFlight;
      expect(result.servedBy!.pid).toBe(child.pid);
      const [code] = await exit;
      expect(code).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it("exits 0 on SIGINT and 2 on a bad option", async () => {
    const { child } = await startServer(["--port", "0", "--workers", "1"]);
    child.kill("SIGINT");
    const [code] = await once(child, "exit");
    expect(code).toBe(0);
    const bad = await runProgram(serverProgram, ["--port", "99999"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/port/);
  });
});
