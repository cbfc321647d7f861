import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { Pool } from "rpcpool";
import { LessonClient } from "rpcpool/lesson";
import { afterAll, describe, expect, it } from "vitest";
import { healthCheck } from "./support/grpc-clients.js";
import { useServers } from "./support/local-servers.js";

const quick = useServers(1, { args: ["--preface-timeout-ms", "1000", "--max-connection-idle-ms", "1500"] });
const capped = useServers(1, { args: ["--max-connections", "20", "--preface-timeout-ms", "600000"] });

const sockets: Socket[] = [];
afterAll(() => {
  for (const socket of sockets) socket.destroy();
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
      // Past --max-connection-idle-ms: the server has sent its GOAWAY and closed the connection.
      await sleep(3000);
      expect((await new LessonClient(pool).sleep(1)).elapsedMs).toBeGreaterThanOrEqual(0);
    } finally {
      await pool.close();
    }
  });

  it("holds at most --max-connections: the ones beyond are closed as they come", async () => {
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
