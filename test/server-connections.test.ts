import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { connect as http2Connect } from "node:http2";
import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { connect as tlsConnect } from "node:tls";
import { Pool } from "rpcpool";
import { LessonClient } from "rpcpool/lesson";
import { startLocalServer } from "rpcpool/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { healthCheck } from "./support/grpc-clients.js";
import { useServers } from "./support/local-servers.js";
import { tempDir } from "./support/temp-dir.js";
import { makeTestCa } from "./support/test-ca.js";

const quick = useServers(1, { args: ["--preface-timeout-ms", "1000", "--max-connection-idle-ms", "1500"] });
const capped = useServers(1, { args: ["--max-connections", "20", "--preface-timeout-ms", "600000"] });

const sockets: Socket[] = [];
const tmp = tempDir();
afterAll(() => {
  for (const socket of sockets) socket.destroy();
  tmp.cleanup();
});

/** Opens n TCP connections that never say a word; each records when it is closed by the server. */
async function silentSockets(address: string, n: number) {
  const [host, port] = [address.slice(0, address.lastIndexOf(":")), Number(address.split(":").pop())];
  const opened = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<{ socket: Socket; closed: Promise<void> }>((resolve, reject) => {
          const socket = connect({ host, port });
          sockets.push(socket);
          socket.on("error", () => {});
          // Flowing, so that the end the server sends is seen.
          socket.resume();
          const closed = new Promise<void>((done) => socket.once("close", () => done()));
          socket.once("connect", () => resolve({ socket, closed }));
          socket.once("error", reject);
        }),
    ),
  );
  return opened;
}

describe("connections a server holds", () => {
  it("closes connections that never send the HTTP/2 preface, and answers health meanwhile", async () => {
    const address = quick.servers[0]!.address;
    const silent = await silentSockets(address, 50);
    expect(await healthCheck(address)).toBe("SERVING");
    // Closed by the server (the test would time out otherwise): the preface timeout is 1 s.
    await Promise.all(silent.map((s) => s.closed));
    expect(await healthCheck(address)).toBe("SERVING");
  });

  it("closes idle connections, and a client reconnects for its next call", async () => {
    const pool = await Pool.connect([quick.servers[0]!.address], { retries: 0 });
    try {
      await new LessonClient(pool).sleep(1);
      const fds = () => readdirSync(`/proc/${quick.servers[0]!.process.pid}/fd`).length;
      const connected = fds();
      // Past --max-connection-idle-ms the server sends its GOAWAY and closes the connection: watched
      // until it has (a fixed wait failed on a loaded machine), 15 s only as a hang guard.
      const deadline = Date.now() + 15_000;
      while (fds() >= connected && Date.now() < deadline) await sleep(50);
      expect(fds()).toBeLessThan(connected);
      expect((await new LessonClient(pool).sleep(1)).elapsedMs).toBeGreaterThanOrEqual(0);
    } finally {
      await pool.close();
    }
  });

  it("closes a connection whose only call is a health Watch once idle: a Watch is open for ever", async () => {
    const session = http2Connect(`http://${quick.servers[0]!.address}`);
    session.on("error", () => {});
    const closed = once(session, "close");
    const watch = session.request({
      ":method": "POST",
      ":path": "/grpc.health.v1.Health/Watch",
      "content-type": "application/grpc",
      te: "trailers",
    });
    watch.on("error", () => {});
    // One empty HealthCheckRequest (service ""), then the stream stays open, its status sent.
    watch.end(Buffer.alloc(5));
    await once(watch, "data");
    // Closed by the server past --max-connection-idle-ms (1.5 s); the test would time out otherwise.
    await closed;
  });

  it("holds at most --max-connections: beyond it, the oldest silent ones make room", async () => {
    const address = capped.servers[0]!.address;
    const silent = await silentSockets(address, 30);
    let closed = 0;
    for (const s of silent) s.closed.then(() => closed++);
    await expect.poll(() => closed, { timeout: 10_000 }).toBe(10);
    for (const s of silent) s.socket.destroy();
    await Promise.all(silent.map((s) => s.closed));
    await expect.poll(() => healthCheck(address).catch(String), { timeout: 10_000 }).toBe("SERVING");
  });
});

describe("connections to a TLS server", () => {
  it("closes silent ones, before and after the TLS handshake, and serves TLS clients", async () => {
    const ca = makeTestCa(tmp.dir, "conn");
    const server = await startLocalServer({
      workers: 1,
      stderr: "ignore",
      args: ["--tls-cert", ca.serverCert, "--tls-key", ca.serverKey, "--preface-timeout-ms", "1000"],
    });
    try {
      const [host, port] = ["127.0.0.1", Number(server.address.split(":").pop())];
      // Ten that never start TLS, ten that finish the handshake (h2 agreed) and then say nothing.
      const raw = await silentSockets(server.address, 10);
      const handshaken = await Promise.all(
        Array.from(
          { length: 10 },
          () =>
            new Promise<Promise<void>>((resolve, reject) => {
              const socket = tlsConnect({ host, port, ca: readFileSync(ca.ca), ALPNProtocols: ["h2"] });
              sockets.push(socket);
              socket.on("error", () => {});
              socket.resume();
              const closed = new Promise<void>((done) => socket.once("close", () => done()));
              socket.once("secureConnect", () => resolve(closed));
              socket.once("error", reject);
            }),
        ),
      );
      await Promise.all([...raw.map((s) => s.closed), ...handshaken]);
      const pool = await Pool.connect([server.address], { retries: 0, security: { tlsCa: ca.ca } });
      try {
        expect((await new LessonClient(pool).sleep(1)).servedBy!.pid).toBe(server.process.pid);
      } finally {
        await pool.close();
      }
    } finally {
      await server.stop();
    }
  });
});
