import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { connect } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { Pool } from "rpcpool";
import { LessonClient } from "rpcpool/lesson";
import { startLocalServer } from "rpcpool/protocol";
import { describe, expect, it } from "vitest";
import { root } from "./support/run-program.js";

/** Starts a server as a supervisor would, with the documented command; resolves its address. */
async function supervised(command: string, args: string[]) {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "ignore"] });
  const [line] = (await once(createInterface({ input: child.stdout! }), "line")) as [string];
  return { child, address: line.replace(/^listening on /, "") };
}

describe("a server under a supervisor (docs/several-machines.md)", () => {
  it("deploy/run-server.sh: SIGTERM to the PID the supervisor knows drains the server and exits 0", async () => {
    const { child, address } = await supervised("sh", [
      join(root, "deploy/run-server.sh"),
      "--port",
      "0",
      "--workers",
      "1",
      // The largest values the flags take (2^31 - 1 ms, a timer's limit).
      "--grace",
      "2147483647",
      "--max-deadline-ms",
      "2147483647",
    ]);
    const pool = await Pool.connect([address], { retries: 0 });
    try {
      const inFlight = new LessonClient(pool).sleep(1000);
      // SIGTERM once the call is on the server (sent before it, the call would be refused).
      await expect
        .poll(async () => (await pool.servers[0]!.refreshInfo()).callsInFlight, { timeout: 10_000 })
        .toBe(1);
      const exit = once(child, "exit");
      child.kill("SIGTERM");
      const result = await inFlight;
      // The script exec'd the server: the PID signalled is the server's own.
      expect(result.servedBy!.pid).toBe(child.pid);
      const [code] = await exit;
      expect(code).toBe(0);
    } finally {
      await pool.close();
    }
  });
});

/** A gRPC C-core client (Python grpcio) with an idle channel: one health Check, then it waits. */
const idleGrpcio = `
import sys, grpc
channel = grpc.insecure_channel(sys.argv[1])
channel.unary_unary("/grpc.health.v1.Health/Check")(b"", timeout=5)
print("ready", flush=True)
sys.stdin.read()
`;
const python = "/usr/bin/python3";
const hasGrpcio = spawnSync(python, ["-c", "import grpc"]).status === 0;

describe("a draining server and its idle connections (issue 17)", () => {
  it.skipIf(!hasGrpcio)(
    "closes idle ones at once on SIGTERM (a grpcio channel, a client that never closes its end) and lets busy ones finish",
    async () => {
      const server = await startLocalServer({ workers: 1, args: ["--grace", "30000"], stderr: "ignore" });
      const client = spawn(python, ["-c", idleGrpcio, server.address], { stdio: ["pipe", "pipe", "ignore"] });
      const silent = connect({ host: "127.0.0.1", port: Number(server.address.split(":").pop()) });
      const pool = await Pool.connect([server.address], { retries: 0 });
      try {
        const [line] = (await once(createInterface({ input: client.stdout! }), "line")) as [string];
        expect(line).toBe("ready");
        // The HTTP/2 preface and an empty SETTINGS frame, then nothing: it never closes its end.
        silent.on("error", () => {});
        silent.write(
          Buffer.concat([
            Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
            Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]),
          ]),
        );
        const inFlight = new LessonClient(pool).sleep(500);
        await expect
          .poll(async () => (await pool.servers[0]!.refreshInfo()).callsInFlight, { timeout: 10_000 })
          .toBe(1);
        const exited = once(server.process, "exit");
        server.process.kill("SIGTERM");
        // A hang guard, not a measure: a drain held by an idle connection lasts the whole 30 s.
        const outcome = await Promise.race([exited, sleep(10_000).then(() => "still draining after 10 s")]);
        expect(outcome).toEqual([0, null]);
        // The busy connection was not cut: its call finished.
        expect((await inFlight).elapsedMs).toBeGreaterThanOrEqual(500);
      } finally {
        client.kill();
        silent.destroy();
        await pool.close();
        await server.stop();
      }
    },
    30_000,
  );
});
