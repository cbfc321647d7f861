import { Pool, type PoolServer } from "rpcpool";
import { computeMethods, TableOptions } from "rpcpool/lesson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { codeOf } from "./support/waits.js";

// Small caps, so that the test moves kilobytes where a real abuse would move gigabytes.
const servers = useServers(1, {
  args: ["--max-line-bytes", "100000", "--max-buffer-bytes", "1000000", "--max-columns", "1000"],
});
let pool: Pool;
let server: PoolServer;
beforeAll(async () => {
  pool = await Pool.connect([servers.servers[0]!.address], { retries: 0 });
  server = pool.servers[0]!;
});
afterAll(() => pool.close());

/** Streams chunks as a table; `hold` (if given) is awaited before the stream ends. */
function sumChunks(chunks: Uint8Array[], hold?: Promise<unknown>, options: Partial<TableOptions> = {}) {
  async function* requests() {
    yield { options: TableOptions.fromPartial({ fileName: "t.csv", delimiter: ";", ...options }) };
    for (const chunk of chunks) yield { chunk: Buffer.from(chunk) };
    if (hold) await hold;
  }
  return server.clientStream(computeMethods.columnSums, requests(), { timeoutMs: 30_000 });
}

describe("a table call's memory is bounded whatever its bytes", () => {
  it("refuses a line longer than --max-line-bytes with INVALID_ARGUMENT naming the line and the cap", async () => {
    const long = Buffer.alloc(300_000, "7".charCodeAt(0));
    const outcome = await codeOf(sumChunks([Buffer.from("1;2\n3;4\n"), long.subarray(0, 150_000), long]));
    expect(outcome).toMatch(/^INVALID_ARGUMENT: t\.csv: line 3: /);
    expect(outcome).toMatch(/100000 bytes/);
    expect(outcome).toMatch(/--max-line-bytes/);
  });

  it("counts the bytes every call holds against one server-wide budget (--max-buffer-bytes)", async () => {
    // Twelve streams each hold 90 kB of one unfinished line: more than the 1 MB budget in all.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Blanks and one digit: a valid cell however long, so the calls let through succeed.
    const line = Buffer.from(`${" ".repeat(89_999)}5`);
    const calls = Array.from({ length: 12 }, () => codeOf(sumChunks([line], gate)));
    // The client hears a refusal only once its own side of the stream is done: a probe of 10,001
    // bytes, its stream ended at once, is refused with the budget's words once eleven gated
    // streams hold 990,000 bytes (the twelfth cannot fit either).
    const probe = Buffer.from(`${" ".repeat(10_000)}5`);
    await expect
      .poll(() => codeOf(sumChunks([probe])), { timeout: 30_000, interval: 100 })
      .toMatch(/^RESOURCE_EXHAUSTED: t\.csv: .*--max-buffer-bytes/);
    release();
    const outcomes = await Promise.all(calls);
    const refused = outcomes.filter((o) => o !== "OK");
    expect(refused.length).toBeLessThanOrEqual(2);
    for (const outcome of refused)
      expect(outcome).toMatch(/^RESOURCE_EXHAUSTED: t\.csv: .*1000000 bytes.*--max-buffer-bytes/);
    // Every byte was given back: the whole budget serves one call again.
    const all = await codeOf(sumChunks([Buffer.from(`${" ".repeat(95_000)}5`)]));
    expect(all).toBe("OK");
  });

  it("refuses a row wider than --max-columns at the first row, and a part that claims more", async () => {
    const wide = `${Array.from({ length: 5000 }, () => "1").join(";")}\n`;
    const outcome = await codeOf(sumChunks([Buffer.from(`${wide}${wide}`)]));
    expect(outcome).toMatch(/^INVALID_ARGUMENT: t\.csv: line 1, column 1001: .*1000 columns.*--max-columns/);
    const claimed = await codeOf(
      sumChunks([Buffer.from("1;2\n")], undefined, { expectedColumns: 2_000_000 }),
    );
    expect(claimed).toMatch(/^INVALID_ARGUMENT: t\.csv: .*1000 columns/);
    expect(await codeOf(sumChunks([Buffer.from("1;2\n3;4\n")]))).toBe("OK");
  });
});
