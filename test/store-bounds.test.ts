import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { credentials, loadPackageDefinition, type ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { Pool } from "rpcpool";
import { computeMethods, MeansRequest } from "rpcpool/lesson";
import { type LocalServer, startLocalServers } from "rpcpool/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { root } from "./support/run-program.js";

// The server's value store against the abuses of issue 17, over real sockets to a real server
// process, with a client of grpc-js's own that sends what rpcpool's never would: Puts that stop,
// owner ids of megabytes, floods of tiny values, and Puts that would evict others' kept results.
// Memory is the server's, from /proc/PID/status, with generous margins.

const started: LocalServer[] = [];
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
});

async function server(args: string[]): Promise<LocalServer> {
  const [one] = await startLocalServers(1, { workers: 1, args, stderr: "ignore" });
  started.push(one!);
  return one!;
}

const proto = loadPackageDefinition(
  loadSync(["rpcpool/pool/v1/store.proto"], {
    includeDirs: [join(root, "proto")],
    longs: Number,
    defaults: true,
  }),
) as any;

function storeClient(address: string): any {
  return new proto.rpcpool.pool.v1.StoreService(address, credentials.createInsecure(), {
    "grpc.max_send_message_length": -1,
  });
}

/** Resident and peak resident bytes of a process. */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const MiB = 1 << 20;

/** A whole Put of `bytes`; resolves with its error (null when it was stored). */
function put(client: any, bytes: Buffer, owner: string): Promise<ServiceError | null> {
  return new Promise((resolve) => {
    const call = client.put((error: ServiceError | null) => resolve(error));
    call.write({ header: { handle: sha256(bytes), size: bytes.byteLength, owner } });
    call.write({ chunk: bytes });
    call.end();
  });
}

function stats(client: any): Promise<Record<string, number>> {
  return new Promise((resolve, reject) =>
    client.stats({}, (error: ServiceError | null, reply: Record<string, number>) =>
      error ? reject(error) : resolve(reply),
    ),
  );
}

/** Resolves `promise`, or fails the test after `ms` (a hang guard, not a timing assertion). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: still running after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

describe("the store's bound", () => {
  it("counts Puts still arriving and refuses them beyond --store-bytes; a Put that stalls is refused", async () => {
    const capacity = 16 * MiB;
    const s = await server(["--store-bytes", String(capacity), "--store-put-stall-ms", "1500"]);
    const pid = s.process.pid!;
    const before = memory(pid);
    const client = storeClient(s.address);
    try {
      const chunk = Buffer.alloc(MiB, 5);
      // 12 Puts that announce 15 MiB each, send 14 MiB and then nothing: 168 MiB held before the fix.
      const puts = Array.from(
        { length: 12 },
        (_, i) =>
          new Promise<ServiceError | null>((resolve) => {
            const call = client.put((error: ServiceError | null) => resolve(error));
            call.on("error", () => {});
            call.write({
              header: { handle: sha256(Buffer.from(`${i}`)), size: 15 * MiB, owner: "attacker" },
            });
            for (let k = 0; k < 14; k++) call.write({ chunk });
          }),
      );
      // A hang guard that lets the memory be measured either way: before the fix, they never end.
      let guard: NodeJS.Timeout | undefined;
      const errors = await Promise.race([
        Promise.all(puts),
        new Promise<undefined>((resolve) => {
          guard = setTimeout(() => resolve(undefined), 20_000);
        }),
      ]);
      clearTimeout(guard);
      const grown = memory(pid).peak - before.rss;
      console.log(`12 stalled Puts of 14 MiB: server peak RSS +${(grown / MiB).toFixed(1)} MiB`);
      // The bound and a generous margin for grpc-js's buffers and the garbage of the messages
      // received (measured: +72 to +84 MiB with the bound of 16 MiB, the same for 8 or 16 Puts;
      // +147 MiB for 8 Puts before the fix, growing with each Put).
      expect(grown).toBeLessThan(capacity + 96 * MiB);
      expect(errors).toBeDefined();
      const codes = errors!.map((e) => e?.code);
      expect(codes.every((c) => c === 8 || c === 4)).toBe(true);
      expect(codes).toContain(8);
      expect(errors!.find((e) => e?.code === 8)?.details).toMatch(/store is full \(--store-bytes 16777216\)/);
      const after = await stats(client);
      expect(after).toMatchObject({ values: 0, bytes: 0, transitBytes: 0, putStallMs: 1500 });
      expect(after.putsRefused).toBe(12);
    } finally {
      client.close();
    }
  });

  it("refuses owner ids longer than 128 characters and counts each owner of a value", async () => {
    const s = await server([]);
    const client = storeClient(s.address);
    try {
      const value = Buffer.from("a value many pools own");
      // Issue 17: 200 owners of 4 MiB took a server 843 MiB further.
      const huge = await put(client, value, "o".repeat(4 * MiB));
      expect(huge?.code).toBe(3);
      expect(huge?.details).toMatch(/an owner id is at most 128 characters/);
      expect(await put(client, value, "first")).toBeNull();
      const one = (await stats(client)).bytes;
      for (let i = 0; i < 50; i++) expect(await put(client, value, `${i}`.padEnd(128, "x"))).toBeNull();
      const fifty = (await stats(client)).bytes;
      // Each owner counts its characters and its slot.
      expect(fifty - one).toBeGreaterThanOrEqual(50 * 2 * 128);
    } finally {
      client.close();
    }
  });

  it("counts each value's bookkeeping, so a store of tiny values holds what its bound allows", async () => {
    // Issue 17: 200,000 values of 47 bytes grew a server by 396 MiB (about 2 KB each) while 9.4 MB
    // were counted. In one process, after a full GC, a value costs about 740 bytes besides its own
    // (node --expose-gc, ValueStore alone); over gRPC, with the allocator's fragmentation, about
    // 2 KB: the store counts 2 KiB. The growth of RSS in a test this short is the calls' garbage,
    // so this test checks the count and its effect, and the figures are in docs/collectives.md.
    const bound = 4 * MiB;
    const s = await server(["--store-bytes", String(bound)]);
    const client = storeClient(s.address);
    try {
      const n = 2_500;
      let next = 0;
      await within(
        Promise.all(
          Array.from({ length: 32 }, async () => {
            while (next < n) {
              const error = await put(client, Buffer.from(`value ${next++} `.padEnd(32, ".")), "pool");
              if (error) throw error;
            }
          }),
        ),
        60_000,
        "2,500 Puts",
      );
      const after = await stats(client);
      expect(after.valueBytes).toBe(after.values * 32);
      expect(after.bytes).toBeLessThanOrEqual(bound);
      // Each value counts at least 2 KiB: the bound holds about 1,900 of them, not all 2,500.
      expect(after.bytes / after.values).toBeGreaterThanOrEqual(2048 + 32);
      expect(after.values).toBeLessThanOrEqual(bound / 2048);
      expect(after.evicted).toBe(n - after.values);
    } finally {
      client.close();
    }
  });
});

describe("results kept on a server", () => {
  it("keep their share of the store when another pool floods it with Puts", async () => {
    const s = await server(["--store-bytes", String(MiB)]);
    const owner = await Pool.connect([s.address]);
    const flooder = await Pool.connect([s.address]);
    try {
      const kept = await Promise.all(
        [1, 2, 3, 4, 5].map((i) =>
          owner.keep(computeMethods.means, MeansRequest.fromPartial({ lists: [{ values: [i, i + 1] }] })),
        ),
      );
      // 40 values of 50 KB: twice the store.
      for (let i = 0; i < 40; i++) await flooder.broadcast(Buffer.alloc(50_000, i));
      const after = (await flooder.storeStats())[0]!.stats;
      expect(after.evicted).toBeGreaterThan(0);
      expect(after.keptReserveBytes).toBe(MiB / 4);
      // Issue 17: the flood evicted them, and a kept result exists nowhere else.
      const means = await owner.gather(kept);
      expect(means.map((m) => m.means[0])).toEqual([1.5, 2.5, 3.5, 4.5, 5.5]);
    } finally {
      await Promise.all([owner.close(), flooder.close()]);
    }
  });
});
