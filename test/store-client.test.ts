import { ClientError, Pool, ValueHandle } from "rpcpool";
import { computeMethods, MeansRequest } from "rpcpool/lesson";
import { type LocalServer, startLocalServers } from "rpcpool/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { Collectives } from "../dist/src/pool/collectives.js";
import { type HostileStore, type StoreLie, startHostileStore } from "./support/hostile-store.js";

// The pool's side of the value store against servers that fail or lie (issue 16 and 17): a fetch
// has a deadline and takes no more than the value; a repair whose fetch fails says why; a shared
// Put is cancelled only by the last caller who waits for it.

const started: LocalServer[] = [];
const hostiles: HostileStore[] = [];
afterAll(async () => {
  await Promise.all([...started.map((s) => s.stop()), ...hostiles.map((h) => h.close())]);
});

async function hostile(lie: StoreLie): Promise<HostileStore> {
  const store = await startHostileStore(lie);
  hostiles.push(store);
  return store;
}

/** Settles `promise`, or fails the test after `ms` (a hang guard, not a timing assertion). */
async function settled<T>(promise: Promise<T>, ms = 20_000): Promise<{ error?: ClientError; value?: T }> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms);
  });
  try {
    return { value: await Promise.race([promise, guard]) };
  } catch (error) {
    if (error instanceof Error && error.message.startsWith("still running")) throw error;
    return { error: ClientError.from(error) };
  } finally {
    clearTimeout(timer);
  }
}

/** A handle the pool does not know: it asks every server for it. */
const unknown = (store: HostileStore) => new ValueHandle("0".repeat(64), store.announce, (b: Buffer) => b);

describe("the pool's Get", () => {
  it("refuses a server that sends more than the size it announced", async () => {
    const store = await hostile("endless");
    const pool = await Pool.connect([store.address]);
    try {
      const { error } = await settled(pool.gather([unknown(store)]));
      expect(error?.codeName).toBe("DATA_LOSS");
      expect(error?.details).toMatch(/sent more than the 1048576 bytes it announced/);
      // One chunk beyond the value, and what was in flight: not gigabytes.
      expect(store.sentBytes).toBeLessThan(64 << 20);
    } finally {
      await pool.close();
    }
  });

  it("refuses an announced size beyond the pool's cap before the bytes come", async () => {
    const store = await hostile("endless");
    store.announce = 2 ** 40;
    const pool = await Pool.connect([store.address]);
    try {
      const { error } = await settled(pool.gather([unknown(store)]));
      expect(error?.codeName).toBe("RESOURCE_EXHAUSTED");
      expect(error?.details).toMatch(
        /announced 1099511627776 bytes .* more than this pool takes \(1073741824\)/,
      );
    } finally {
      await pool.close();
    }
  });

  it("refuses a size other than the one the value has", async () => {
    const store = await hostile("endless");
    const pool = await Pool.connect([store.address]);
    const values = new Collectives(pool);
    try {
      // Keep says the value has 34 bytes; the Get announces 1 MiB.
      const kept = await values.keepOn(pool.servers[0]!, computeMethods.means, [
        MeansRequest.fromPartial({}),
      ]);
      const { error } = await settled(values.gather([kept]));
      expect(error?.codeName).toBe("DATA_LOSS");
      expect(error?.details).toMatch(/announced 1048576 bytes for [0-9a-f]{64}, a value of 34/);
    } finally {
      await pool.close();
    }
  });

  it("has a deadline", async () => {
    const store = await hostile("hang");
    const pool = await Pool.connect([store.address]);
    try {
      const { error } = await settled(pool.gather([unknown(store)], { timeoutMs: 300 }));
      expect(error?.codeName).toBe("DEADLINE_EXCEEDED");
    } finally {
      await pool.close();
    }
  });
});

describe("a repair whose fetch fails", () => {
  /**
   * A pool of a real server and a hostile one, a result kept on the hostile one (the pool has no
   * copy), and the repair of the real one, which lacks it: the value must be fetched.
   */
  async function repair(lie: StoreLie, signal = new AbortController().signal) {
    if (started.length === 0) started.push(...(await startLocalServers(1, { workers: 1, stderr: "ignore" })));
    const store = await hostile(lie);
    const pool = await Pool.connect([started[0]!.address, store.address]);
    const values = new Collectives(pool);
    const real = pool.servers.find((s) => s.address === started[0]!.address)!;
    const liar = pool.servers.find((s) => s.address === store.address)!;
    const kept = await values.keepOn(liar, computeMethods.means, [MeansRequest.fromPartial({})]);
    // What a hosted method on the real server answers for a value it does not hold.
    const missing = new ClientError(9, `value ${kept.id} is not in this server's store`, {
      errorDetails: {
        errorInfo: { reason: "VALUE_MISSING", domain: "rpcpool", metadata: { handle: kept.id } },
      },
    });
    const getting = store.nextGet();
    const outcome = settled(values.recover(missing, real as never, signal));
    return { store, pool, kept, getting, outcome };
  }

  it("is that failure, not VALUE_LOST, when the server holding the value is unavailable for now", async () => {
    const { store, pool, outcome } = await repair("unavailable");
    try {
      const { error } = await outcome;
      expect(error?.codeName).toBe("UNAVAILABLE");
      expect(error?.errorDetails.errorInfo?.reason).toBeUndefined();
      // Asked three times (100 ms, then 200 ms apart) before the repair gives up.
      expect(store.gets).toBe(3);
    } finally {
      await pool.close();
    }
  });

  it("is CANCELLED when the caller aborts it", async () => {
    const controller = new AbortController();
    const { pool, getting, outcome } = await repair("hang", controller.signal);
    try {
      await getting;
      controller.abort();
      const { error } = await outcome;
      expect(error?.codeName).toBe("CANCELLED");
    } finally {
      await pool.close();
    }
  });

  it("is VALUE_LOST, naming the handle, when no server holds the value any more", async () => {
    const { pool, kept, outcome } = await repair("missing");
    try {
      const { error } = await outcome;
      expect(error?.codeName).toBe("FAILED_PRECONDITION");
      expect(error?.errorDetails.errorInfo).toMatchObject({
        reason: "VALUE_LOST",
        metadata: { handle: kept.id },
      });
      expect(error?.details).toContain(`value ${kept.id} is lost`);
    } finally {
      await pool.close();
    }
  });
});

describe("a Put asked for twice at once", () => {
  it("goes on for the second caller when the first aborts", async () => {
    if (started.length === 0) started.push(...(await startLocalServers(1, { workers: 1, stderr: "ignore" })));
    const pool = await Pool.connect([started[0]!.address]);
    try {
      const value = Buffer.alloc(8 << 20, 3);
      const first = new AbortController();
      const second = new AbortController();
      const a = settled(pool.broadcast(value, { signal: first.signal }));
      const b = settled(pool.broadcast(Buffer.from(value), { signal: second.signal }));
      first.abort();
      expect((await a).error?.codeName).toBe("CANCELLED");
      const { error, value: handle } = await b;
      expect(error).toBeUndefined();
      expect(pool.locate(handle!).holders).toEqual([started[0]!.address]);
      const [stats] = await pool.storeStats();
      expect(stats!.stats).toMatchObject({ values: 1, valueBytes: value.byteLength });
      // One Put travelled, shared by both callers.
      expect(pool.valueTraffic.puts).toBe(1);
    } finally {
      await pool.close();
    }
  });
});
