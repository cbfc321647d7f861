import { Pool, type PoolServer } from "rpcpool";
import { ColumnSumsResponse, computeMethods, MeansRequest, MeansResponse } from "rpcpool/lesson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { healthCheck } from "./support/grpc-clients.js";
import { useServers } from "./support/local-servers.js";
import { codeOf } from "./support/waits.js";

// The issue's big but legal unary requests, small enough to run in seconds: their decoding and
// computing must not stall the server's other calls, nor take memory beyond docs/limits.md's.
const servers = useServers(1, { workers: 2 });
let pool: Pool;
let server: PoolServer;
beforeAll(async () => {
  pool = await Pool.connect([servers.servers[0]!.address], { retries: 0 });
  server = pool.servers[0]!;
});
afterAll(() => pool.close());

/** A method that sends bytes as they are and returns the reply's bytes: no codec cost on our side. */
function raw(method: (typeof computeMethods)[keyof typeof computeMethods]) {
  return {
    ...method,
    requestSerialize: (bytes: Buffer) => bytes,
    responseDeserialize: (bytes: Buffer) => bytes,
  } as unknown as typeof computeMethods.means;
}

/**
 * Health checks on a connection of their own while `work` runs: every one must be answered
 * within `deadlineMs` (the event loop answers it, not a worker thread). Returns the failures.
 */
async function healthDuring<T>(
  work: Promise<T>,
  deadlineMs = 2000,
): Promise<{ result: T; failures: string[] }> {
  const failures: string[] = [];
  let done = false;
  const probing = (async () => {
    while (!done) {
      await healthCheck(servers.servers[0]!.address, "", deadlineMs).catch((error: Error) =>
        failures.push(error.message),
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  try {
    return { result: await work, failures };
  } finally {
    done = true;
    await probing;
  }
}

describe("large unary requests run on the worker threads", () => {
  it("answers four 22 MB Means requests while health checks are answered, within the memory budget", async () => {
    // 800,000 lists of three: the shape that costs the most per byte.
    const lists = Array.from({ length: 800_000 }, (_, i) => ({ values: [i, i + 1, i + 2] }));
    const bytes = Buffer.from(MeansRequest.encode({ lists }).finish());
    expect(bytes.byteLength).toBeGreaterThan(22e6);
    const calls = Array.from({ length: 4 }, () =>
      server.unary(raw(computeMethods.means), bytes as never, { timeoutMs: 120_000 }),
    );
    const { result: replies, failures } = await healthDuring(Promise.all(calls));
    expect(failures).toEqual([]);
    for (const reply of replies) {
      const { means } = MeansResponse.decode(reply as unknown as Buffer);
      expect(means.length).toBe(800_000);
      expect(means[0]).toBe(1);
      expect(means[799_999]).toBe(800_000);
    }
    expect((await server.refreshInfo()).maxRssBytes).toBeLessThan(700 << 20);
  });

  it("refuses a Circles reply over the message cap before computing it, naming how many radii fit", async () => {
    const radii = new Float64Array(7_000_000).fill(1.5);
    const outcome = await healthDuring(
      codeOf(
        server.unary(computeMethods.circles, { radii: Array.from(radii), pi: 0 }, { timeoutMs: 120_000 }),
      ),
    );
    expect(outcome.failures).toEqual([]);
    expect(outcome.result).toMatch(
      /^RESOURCE_EXHAUSTED: the reply to 7000000 radii would be \d+ bytes, more than this server's message cap of 67108864 bytes \(--max-message-bytes\): send at most \d+ radii a call/,
    );
    // A large request whose reply fits is answered, and exactly as a small one is.
    const fits = await server.unary(computeMethods.circles, {
      radii: Array.from(radii.subarray(0, 100_000)),
      pi: 0,
    });
    expect(fits.lengths.length).toBe(100_000);
    expect(fits.areas[99_999]).toBe(Math.PI * 1.5 ** 2);
  });

  it("merges 150,000 parts exactly (a spread of them overflowed the stack, reported as INVALID_ARGUMENT)", async () => {
    const part = ColumnSumsResponse.fromPartial({
      rows: 1,
      columns: 1,
      exact: [{ partials: [0.1] }],
      lines: 1,
    });
    const reply = await server.unary(
      computeMethods.mergeColumnSums,
      { parts: Array.from({ length: 150_000 }, () => part) },
      { timeoutMs: 120_000 },
    );
    expect(reply.rows).toBe(150_000);
    // The exact sum of 150,000 copies of the double nearest 0.1 is 15000 + 8.3e-13, rounded once: 15000.
    expect(reply.sums).toEqual([15000]);
  });
});
