import { Pool, type PoolServer } from "rpcpool";
import { computeMethods, TableOptions } from "rpcpool/lesson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { codeOf } from "./support/waits.js";

// The attack, small: one client's stalled streams hold --max-buffer-bytes of unfinished
// lines. Another client (another connection) must still be served, and a stalled holder times out.
const fair = useServers(1, { args: ["--max-line-bytes", "100000", "--max-buffer-bytes", "1000000"] });
const stalling = useServers(1, {
  args: ["--max-line-bytes", "100000", "--max-buffer-bytes", "100000", "--stall-timeout-ms", "1500"],
});

const pools: Pool[] = [];
/** A pool of its own: one HTTP/2 connection, so one client as the server counts them. */
async function client(address: string): Promise<PoolServer> {
  const pool = await Pool.connect([address], { retries: 0 });
  pools.push(pool);
  return pool.servers[0]!;
}
afterAll(() => Promise.all(pools.map((pool) => pool.close())));

/**
 * Streams chunks as a table; `hold` (if given) is awaited before the stream ends, and `written`
 * is told once every chunk is on the socket (a probe sent after it then reaches the server after).
 */
function sumChunks(server: PoolServer, chunks: Uint8Array[], hold?: Promise<unknown>, written?: () => void) {
  let left = chunks.length;
  async function* requests() {
    yield { options: TableOptions.fromPartial({ fileName: "t.csv", delimiter: ";" }) };
    for (const chunk of chunks) yield { chunk: Buffer.from(chunk) };
    if (hold) await hold;
  }
  return server.clientStream(computeMethods.columnSums, requests(), {
    timeoutMs: 30_000,
    onWritten: (request) => {
      if (request.chunk && --left === 0) written?.();
    },
  });
}

/** Starts `n` streams that each hold one unfinished line until released; resolves once all are sent. */
async function stall(server: PoolServer, n: number, lineBytes: number, held: Promise<void>) {
  const sent: Array<Promise<void>> = [];
  const outcomes = Array.from({ length: n }, () => {
    let written!: () => void;
    sent.push(new Promise<void>((resolve) => (written = resolve)));
    return codeOf(sumChunks(server, [lineOf(lineBytes)], held, written));
  });
  await Promise.all(sent);
  return outcomes;
}

function gate() {
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { held, release };
}

// Blanks and one digit: a valid cell however long, so a call that is let through succeeds.
const lineOf = (bytes: number) => Buffer.from(`${" ".repeat(bytes - 1)}5`);

describe("the buffer budget is shared fairly between clients", () => {
  let attacker: PoolServer;
  let victim: PoolServer;
  beforeAll(async () => {
    attacker = await client(fair.servers[0]!.address);
    victim = await client(fair.servers[0]!.address);
  });

  it("serves another client's table while one client's stalled lines fill --max-buffer-bytes", async () => {
    const { held, release } = gate();
    // Twelve stalled streams of 90 kB: eleven fit in the 1 MB budget, which is then full.
    const stalled = await stall(attacker, 12, 90_000, held);
    // The attacker's own probe is refused once the budget is full: it holds its whole share.
    await expect
      .poll(() => codeOf(sumChunks(attacker, [lineOf(20_000)])), { timeout: 30_000, interval: 100 })
      .toMatch(/^RESOURCE_EXHAUSTED: t\.csv: .*--max-buffer-bytes/);
    // Another connection's table, with a long line of its own, takes its share back at once.
    const table = Buffer.concat([Buffer.from("1;2\n3;4\n"), lineOf(95_000), Buffer.from(";1\n")]);
    expect(await codeOf(sumChunks(victim, [table]))).toBe("OK");
    release();
    const outcomes = await Promise.all(stalled);
    const evicted = outcomes.filter((o) => /its share/.test(o));
    expect(evicted.length).toBeGreaterThan(0);
    for (const outcome of outcomes)
      expect(outcome).toMatch(/^(OK|RESOURCE_EXHAUSTED: t\.csv: .*--max-buffer-bytes)/);
  });
});

describe("a stalled line gives its bytes back (--stall-timeout-ms)", () => {
  it("refuses a call that holds bytes and sends none, and the budget serves others again", async () => {
    const server = await client(stalling.servers[0]!.address);
    const { held, release } = gate();
    const [stalled] = await stall(server, 1, 90_000, held);
    // While the stalled line holds 90 of the 100 kB, 20 kB more do not fit (the same client)...
    await expect
      .poll(() => codeOf(sumChunks(server, [lineOf(20_000)])), { timeout: 30_000, interval: 50 })
      .toMatch(/^RESOURCE_EXHAUSTED: t\.csv: .*--max-buffer-bytes/);
    // ...and once it has timed out, they do.
    await expect
      .poll(() => codeOf(sumChunks(server, [lineOf(20_000)])), { timeout: 30_000, interval: 100 })
      .toBe("OK");
    release();
    expect(await stalled).toMatch(/^RESOURCE_EXHAUSTED: t\.csv: .*waited 1500 ms.*--stall-timeout-ms/);
  });
});
