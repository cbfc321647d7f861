import { spawnSync } from "node:child_process";
import { Pool, type PoolEvent, type ValueHandle } from "rpcpool";
import {
  ColumnSumsRequest,
  type ColumnSumsResponse,
  ComputeServiceDefinition,
  columnSumsCall,
  computeMethods,
  MeansRequest,
  reduceColumnSums,
  weightedMeansCall,
  weightsBytes,
} from "rpcpool/lesson";
import { type LocalServer, startLocalServer, startLocalServers } from "rpcpool/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { fromScaled, toScaled } from "../src/exact/bigint-reference.js";
import { tempDir } from "./support/temp-dir.js";

// MPI's collectives on real server processes: broadcast, scatter with data locality, results kept
// on the servers, reduce, and the store's limits (docs/collectives.md).

const started: LocalServer[] = [];
const tmp = tempDir();
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
  tmp.cleanup();
});

/** Python's math.fsum of each column, when python3 is here (the lesson's own reference). */
function pythonFsum(columns: number[][]): number[] | undefined {
  const run = spawnSync(
    "python3",
    ["-c", "import json,sys,math; print(json.dumps([math.fsum(c) for c in json.load(sys.stdin)]))"],
    { input: JSON.stringify(columns), encoding: "utf8" },
  );
  return run.status === 0 ? JSON.parse(run.stdout) : undefined;
}

async function servers(n: number, args: string[] = []): Promise<LocalServer[]> {
  const list = await startLocalServers(n, { workers: 1, args, stderr: "ignore" });
  started.push(...list);
  return list;
}

/** A table's text and its cells: values of every magnitude, so that a naive sum would be wrong. */
function table(seed: number, rows: number, columns: number): { text: string; cells: number[][] } {
  let state = seed * 7919 + 1;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const cells = Array.from({ length: rows }, () =>
    Array.from({ length: columns }, () => {
      const x = (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20);
      return random() < 0.1 ? -x * 1e15 : x;
    }),
  );
  // String(x) is the shortest text that reads back as the same double.
  return { text: `${cells.map((row) => row.join(";")).join("\n")}\n`, cells };
}

/** Column sums of a stored table, run on the server holding it and kept there. */
function keepColumnSums(
  pool: Pool,
  handles: ValueHandle<Buffer>[],
): Promise<ValueHandle<ColumnSumsResponse>[]> {
  return pool.map(handles, (handle, server, signal) =>
    pool.keepOn(
      server,
      computeMethods.columnSums,
      [
        ColumnSumsRequest.fromPartial({
          options: { fileName: handle.id.slice(0, 8), tableHandle: handle.id },
        }),
      ],
      { signal },
    ),
  );
}

describe("broadcast", () => {
  it("puts a value on every server once: the same value again travels nowhere", async () => {
    const list = await servers(3);
    const pool = await Pool.connect(list.map((s) => s.address));
    try {
      const value = Buffer.alloc(3 << 20, 7);
      const first = await pool.broadcast(value);
      const again = await pool.broadcast(Buffer.from(value));
      expect(again.id).toBe(first.id);
      expect(first.id).toMatch(/^[0-9a-f]{64}$/);
      expect(pool.valueTraffic).toEqual({ puts: 3, bytes: 3 * value.byteLength });
      for (const { stats } of await pool.storeStats()) {
        expect(stats).toMatchObject({
          puts: 1,
          putBytes: value.byteLength,
          values: 1,
          valueBytes: value.byteLength,
        });
      }
      expect((await pool.gather([first]))[0]!.equals(value)).toBe(true);
      // A message travels with its codec and comes back decoded.
      const message = MeansRequest.fromPartial({ lists: [{ values: [1, 2.5, -3] }] });
      const typed = await pool.broadcast(message, MeansRequest);
      const messageSize = typed.size;
      expect(await pool.gather([typed])).toEqual([message]);
      expect(pool.valueTraffic.puts).toBe(6);
      // Asked for twice at once, a value still travels once to each server.
      const twice = Buffer.alloc(1 << 20, 9);
      const [x, y] = await Promise.all([pool.broadcast(twice), pool.broadcast(Buffer.from(twice))]);
      expect(x!.id).toBe(y!.id);
      expect(pool.valueTraffic).toEqual({
        puts: 9,
        bytes: 3 * value.byteLength + 3 * messageSize + 3 * twice.byteLength,
      });
    } finally {
      await pool.close();
    }
    // The pool's values go with it.
    const other = await Pool.connect(list.map((s) => s.address));
    try {
      for (const { stats } of await other.storeStats()) expect(stats.values).toBe(0);
    } finally {
      await other.close();
    }
  });

  it("a restarted server gets a broadcast value again on first use, with no user code", async () => {
    const [server] = await servers(1);
    const port = server!.address.split(":").pop()!;
    const pool = await Pool.connect([server!.address]);
    const events: PoolEvent[] = [];
    try {
      const file = tmp.file("restart.csv", table(1, 4, 3).text);
      const weights = [1, 2, 3, 4];
      const handle = await pool.broadcast(weightsBytes(weights));
      const call = () =>
        pool.map([file], (name, s, signal) => weightedMeansCall(s, name, { handle: handle.id }, { signal }), {
          onEvent: (e) => events.push(e),
        });
      const before = await call();
      await server!.stop();
      const restarted = await startLocalServer({ workers: 1, args: ["--port", port], stderr: "ignore" });
      started.push(restarted);
      const after = await call();
      expect(after[0]!.means).toEqual(before[0]!.means);
      // Put once before the restart, once after: the repair, and no task failed.
      expect(pool.valueTraffic.puts).toBe(2);
      expect(events.filter((e) => e.type === "failed")).toEqual([]);
      const [restartedStats] = await pool.storeStats();
      expect(restartedStats!.stats).toMatchObject({ puts: 1, misses: 1 });
    } finally {
      await pool.close();
    }
  });
});

describe("a server that joins later", () => {
  it("gets a broadcast value on first use", async () => {
    const [a, b] = (await servers(2)).map((s) => s.address) as [string, string];
    const portOf = (address: string) => address.split(":")[1]!;
    // Stands in for DNS, as in discovery.test.ts: the second name answers nothing until b joins.
    let joined = false;
    const pool = await Pool.connect([`dns:///first:${portOf(a)}`, `dns:///second:${portOf(b)}`], {
      resolveEveryMs: 50,
      lookup: async (name) => (name === "second" && !joined ? [] : ["127.0.0.1"]),
    });
    try {
      const weights = [1, 2, 3, 4];
      const handle = await pool.broadcast(weightsBytes(weights));
      expect(pool.valueTraffic.puts).toBe(1);
      joined = true;
      for (let i = 0; i < 200 && pool.servers.length < 2; i++) await new Promise((r) => setTimeout(r, 25));
      expect(pool.servers.map((s) => s.address).sort()).toEqual([a, b].sort());
      const file = tmp.file("joined.csv", table(2, 4, 2).text);
      const results = await pool.map(
        Array(6).fill(file),
        (name, server, signal) => weightedMeansCall(server, name, { handle: handle.id }, { signal }),
        { perServer: 1 },
      );
      expect(new Set(results.map((r) => r.server))).toEqual(new Set([a, b]));
      expect(new Set(results.map((r) => JSON.stringify(r.means))).size).toBe(1);
      // The newcomer got the weights once, on its first call that needed them.
      expect(pool.valueTraffic.puts).toBe(2);
      const stats = Object.fromEntries((await pool.storeStats()).map((s) => [s.server, s.stats]));
      expect(stats[b]).toMatchObject({ puts: 1, misses: 1 });
      expect(stats[a]).toMatchObject({ puts: 1, misses: 0 });
    } finally {
      await pool.close();
    }
  });
});

describe("scatter", () => {
  it("runs each task where its value is, and moves it with its data when that server is killed", async () => {
    const list = await servers(3);
    const pool = await Pool.connect(
      list.map((s) => s.address),
      { cooldownMs: 60_000 },
    );
    try {
      const tables = Array.from({ length: 9 }, (_, i) => table(100 + i, 20, 4));
      const handles = await pool.scatter(tables.map((t) => Buffer.from(t.text)));
      const homes = handles.map((h) => pool.locate(h).home);
      expect(new Set(homes).size).toBe(3);
      const run = () =>
        pool.mapSettled(handles, (handle, server, signal) =>
          columnSumsCall(server, handle.id, { tableHandle: handle.id, signal }),
        );
      const first = await run();
      first.forEach((outcome, i) => {
        expect(outcome.ok && outcome.server).toBe(homes[i]);
      });
      // Every value was put once: nothing moved.
      expect(pool.valueTraffic.puts).toBe(9);

      const lost = list[0]!.address;
      list[0]!.process.kill("SIGKILL");
      const second = await run();
      expect(second.map((o) => o.ok)).toEqual(handles.map(() => true));
      for (const [i, outcome] of second.entries()) {
        expect(outcome.ok && outcome.value.sums).toEqual(first[i]!.ok && first[i]!.value.sums);
        const home = pool.locate(handles[i]!).home;
        expect(home).not.toBe(lost);
        // A task whose server survived stayed there; one whose server died went with its data.
        if (homes[i] !== lost) expect(home).toBe(homes[i]);
        expect(outcome.ok && outcome.server).toBe(home);
      }
      expect(pool.valueTraffic.puts).toBe(9 + homes.filter((h) => h === lost).length);
    } finally {
      await pool.close();
    }
  });

  it("a task on a value whose server died, and whose copy the pool dropped, fails naming the handle", async () => {
    const list = await servers(2);
    const pool = await Pool.connect(
      list.map((s) => s.address),
      { cooldownMs: 60_000 },
    );
    try {
      const handles = await pool.scatter([Buffer.from("1;2\n"), Buffer.from("3;4\n")]);
      await pool.drop(handles, { servers: false });
      const victim = handles.find((h) => pool.locate(h).home === list[0]!.address)!;
      expect(pool.locate(victim).copy).toBe(false);
      list[0]!.process.kill("SIGKILL");
      const outcomes = await pool.mapSettled(handles, (handle, server, signal) =>
        columnSumsCall(server, "t.csv", { tableHandle: handle.id, signal }),
      );
      const failed = outcomes[handles.indexOf(victim)]!;
      expect(failed.ok).toBe(false);
      expect(!failed.ok && failed.error.codeName).toBe("FAILED_PRECONDITION");
      expect(!failed.ok && failed.error.details).toContain(`value ${victim.id} is lost`);
      expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
    } finally {
      await pool.close();
    }
  });
});

describe("reduce", () => {
  it("column sums of 100 tables kept on 3 servers reduce bit-identically to the exact sum (math.fsum)", async () => {
    const list = await servers(3);
    const pool = await Pool.connect(list.map((s) => s.address));
    try {
      const tables = Array.from({ length: 100 }, (_, i) => table(i, 30, 5));
      const handles = await pool.scatter(tables.map((t) => Buffer.from(t.text)));
      const kept = await keepColumnSums(pool, handles);
      // The results stayed where their tables are.
      kept.forEach((k, i) => {
        expect(pool.locate(k).home).toBe(pool.locate(handles[i]!).home);
      });
      const expected = [0, 1, 2, 3, 4].map((c) =>
        fromScaled(tables.flatMap((t) => t.cells).reduce((n, row) => n + toScaled(row[c]!), 0n)),
      );
      const fsum = pythonFsum(
        [0, 1, 2, 3, 4].map((c) => tables.flatMap((t) => t.cells.map((row) => row[c]!))),
      );
      if (fsum) expect(fsum).toEqual(expected);
      const total = await reduceColumnSums(pool, kept);
      expect(total).toEqual({ rows: 3000, columns: 5, sums: expected });
      // Any order and grouping: the same bits.
      expect((await reduceColumnSums(pool, [...kept].reverse())).sums).toEqual(expected);
      const halves = await Promise.all([
        pool.reduce(kept.slice(0, 37), computeMethods.mergeColumnSums),
        pool.reduce(kept.slice(37), computeMethods.mergeColumnSums),
      ]);
      const merged = await pool.keep(computeMethods.mergeColumnSums, { parts: halves });
      expect((await pool.gather([merged]))[0]!.sums).toEqual(expected);
      // A naive sum would not do.
      const naive = [0, 1, 2, 3, 4].map((c) =>
        tables.flatMap((t) => t.cells).reduce((n, row) => n + row[c]!, 0),
      );
      expect(naive).not.toEqual(expected);
    } finally {
      await pool.close();
    }
  });
});

describe("kept results", () => {
  it("a service client's apply and map with { keep: true } leave results on their servers as handles", async () => {
    const list = await servers(2);
    const pool = await Pool.connect(list.map((s) => s.address));
    try {
      const compute = pool.service(ComputeServiceDefinition);
      const requests = Array.from({ length: 6 }, (_, i) =>
        MeansRequest.fromPartial({ lists: [{ values: [i, i + 1] }] }),
      );
      const handles = await compute.map("means", requests, { keep: true });
      const one = await compute.apply("means", requests[0]!, { keep: true });
      for (const handle of [...handles, one]) expect(pool.locate(handle).copy).toBe(false);
      expect(new Set(handles.map((h) => pool.locate(h).home)).size).toBe(2);
      const values = await pool.gather(handles);
      expect(values.map((v) => v.means[0])).toEqual([0.5, 1.5, 2.5, 3.5, 4.5, 5.5]);
      expect((await pool.gather([one]))[0]!.means).toEqual([0.5]);
      // Nothing travelled to the stores: the results were made there.
      expect(pool.valueTraffic.puts).toBe(0);
    } finally {
      await pool.close();
    }
  });
});

describe("the store's limits", () => {
  it("refuses a value larger than the store with RESOURCE_EXHAUSTED naming the limit", async () => {
    // Each value counts its bytes and its bookkeeping (2 KiB, and its owner): room for two of 40,000.
    const list = await servers(1, ["--store-bytes", "100000", "--store-kept-percent", "0"]);
    const pool = await Pool.connect(list.map((s) => s.address));
    try {
      await expect(pool.broadcast(Buffer.alloc(100_001))).rejects.toThrow(
        /RESOURCE_EXHAUSTED: a value of 100001 bytes is larger than this server's store \(--store-bytes 100000/,
      );
      // Least recently used go first.
      const a = await pool.broadcast(Buffer.alloc(40_000, 1));
      await pool.broadcast(Buffer.alloc(40_000, 2));
      await pool.broadcast(Buffer.alloc(40_000, 3));
      const [limited] = await pool.storeStats();
      expect(limited!.stats).toMatchObject({
        values: 2,
        valueBytes: 80_000,
        evicted: 1,
        capacityBytes: 100_000,
      });
      expect(limited!.stats.bytes).toBeGreaterThan(80_000 + 2 * 2048);
      expect(limited!.stats.bytes).toBeLessThanOrEqual(100_000);
      // The pool still has its copy: a gather reads it, a task that needs it puts it again.
      expect((await pool.gather([a]))[0]!.byteLength).toBe(40_000);
    } finally {
      await pool.close();
    }
  });

  it("drops values idle for --store-idle-ms; a task that needs one gets it put again", async () => {
    const list = await servers(1, ["--store-idle-ms", "200"]);
    const pool = await Pool.connect(list.map((s) => s.address));
    try {
      const [handle] = await pool.scatter([Buffer.from("1;2\n3;4\n")]);
      expect((await pool.storeStats())[0]!.stats.values).toBe(1);
      // Polled past the idle time: the store sweeps on its own clock.
      await expect.poll(async () => (await pool.storeStats())[0]!.stats.values, { timeout: 10_000 }).toBe(0);
      expect((await pool.storeStats())[0]!.stats).toMatchObject({ values: 0, expired: 1, idleMs: 200 });
      const [result] = await pool.map([handle!], (h, server, signal) =>
        columnSumsCall(server, "t.csv", { tableHandle: h.id, signal }),
      );
      expect(result!.sums).toEqual([4, 6]);
      expect(pool.valueTraffic.puts).toBe(2);
    } finally {
      await pool.close();
    }
  });
});
