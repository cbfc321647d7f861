import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { type LocalServer, startLocalServer } from "rpcpool/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AddTableRequest, NextChunkResponse } from "../src/gen/rpcpool/compute/v1/accumulator.js";
import { healthCheck } from "./support/grpc-clients.js";
import { RawSession } from "./support/raw-session.js";

// Issue 17's attack, light: a client that stops reading while it asks, in 25-byte calls, for
// replies of about 200 KB each (the running sums of a 10,000-column table). Before, the server
// queued every reply (600 calls: +120 MiB; 6,000: RSS 130 -> 1,367 MiB); now a session that has
// 4 MiB waiting to be sent reads no more of the client's frames until the client reads again.
// The server is a process of its own (rpcpool-server), its memory read from /proc.

const accumulator = "rpcpool.compute.v1.ExactAccumulatorService";
const empty = Buffer.alloc(0);

function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]) * 1024;
  return { rss: kib("VmRSS"), peak: kib("VmHWM") };
}

let server: LocalServer;
beforeAll(async () => {
  server = await startLocalServer({ workers: 1, stderr: "ignore" });
});
afterAll(() => server.stop());

/** A session with one accumulator holding the sums of a 10,000-column row: ids from 100 are free. */
async function wideAccumulator(): Promise<RawSession> {
  const raw = new RawSession(server.address);
  await raw.next((frame) => frame.opened !== undefined);
  raw.send({ expose: { services: ["rpcpool.compute.v1.TableSourceService"] } });
  raw.send({ create: { id: 1, className: accumulator } });
  const call = (id: number, method: string, request: Buffer) =>
    raw.send({ call: { id, method: `/${accumulator}/${method}`, objectId: 1, request, timeoutMs: 0 } });
  call(2, "Init", empty);
  call(3, "AddTable", Buffer.from(AddTableRequest.encode({ fileName: "wide.csv" }).finish()));
  const chunks = [Buffer.from(`${Array(10_000).fill("1").join(";")}\n`), empty];
  for (;;) {
    const frame = await raw.next((f) => f.call !== undefined || f.reply?.id === 3);
    if (frame.reply) {
      expect(frame.reply.code).toBe(0);
      return raw;
    }
    const chunk = chunks.shift() ?? empty;
    const response = Buffer.from(NextChunkResponse.encode({ chunk }).finish());
    raw.send({ reply: { id: frame.call!.id, response, code: 0, message: "", statusDetails: empty } });
  }
}

describe("a session whose client stops reading", () => {
  it("holds a bounded backlog of replies; health answers meanwhile; every reply comes once it reads", async () => {
    const pid = server.process.pid!;
    const raw = await wideAccumulator();
    try {
      const calls = 600;
      const before = memoryOf(pid);
      raw.stopReading();
      for (let i = 0; i < calls; i++) {
        raw.send({
          call: { id: 100 + i, method: `/${accumulator}/Sums`, objectId: 1, request: empty, timeoutMs: 0 },
        });
      }
      // A while for the server to take what it will (it takes all of it without the bound).
      for (let i = 0; i < 10; i++) {
        await sleep(200);
        expect(await healthCheck(server.address)).toBe("SERVING");
      }
      const paused = memoryOf(pid).peak - before.rss;
      let replies = 0;
      let bytes = 0;
      const all = new Promise<void>((resolve) =>
        raw.readAgain((frame) => {
          if (frame.reply && frame.reply.id >= 100) {
            expect(frame.reply.code).toBe(0);
            bytes += frame.reply.response.length;
            if (++replies === calls) resolve();
          }
        }),
      );
      await all;
      expect(bytes / calls).toBeGreaterThan(150_000);
      // 4 MiB of replies waiting, the calls read before the session stopped reading, and garbage
      // (measured: +25 MiB; without the bound +120 MiB, and health timed out meanwhile).
      expect(paused).toBeLessThan(64 << 20);
    } finally {
      raw.close();
    }
  });
});
