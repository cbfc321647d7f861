import { ClientError, Pool } from "rpcpool";
import { columnSumsCall, computeMethods, LessonClient, lessonTableBytes } from "rpcpool/lesson";
import { startLocalServers } from "rpcpool/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { tempDir } from "./support/temp-dir.js";

const servers = useServers(2);
const tmp = tempDir();
let pool: Pool;
let lesson: LessonClient;
beforeAll(async () => {
  pool = await Pool.connect(servers.servers.map((s) => s.address));
  lesson = new LessonClient(pool);
});
afterAll(async () => {
  await pool.close();
  tmp.cleanup();
});

describe("the Pool API", () => {
  it("calls each computation as an awaited function", async () => {
    const file = tmp.file("t.csv", lessonTableBytes(7));
    const sums = await lesson.columnSums(file);
    expect(sums.sums.slice(0, 10)).toEqual([38, 180, 129, 294, 183, 689, 251, 217, 235, 192]);
    const means = await lesson.means([[1, 2, 3]]);
    expect(means.means).toEqual([2]);
    const circles = await lesson.circles([1], 3.1415927);
    expect(circles.lengths).toEqual([6.2831854]);
    const weighted = await lesson.weightedMeans(file, [1, 1, 1, 1, 1, 1, 1], { divisor: "rows" });
    expect(weighted.means[0]).toBe(38 / 7);
  });

  it("maps over many inputs across every server, results in input order", async () => {
    const files = Array.from({ length: 6 }, (_, i) => tmp.file(`f${i}.csv`, `${i};1\n`));
    const events: string[] = [];
    const results = await pool.map(
      files,
      (file, server, signal) => columnSumsCall(server, file, { signal }),
      {
        onEvent: (e) => events.push(e.type),
      },
    );
    expect(results.map((r) => r.sums[0])).toEqual([0, 1, 2, 3, 4, 5]);
    expect(new Set(results.map((r) => r.server)).size).toBe(2);
    expect(events.filter((e) => e === "done")).toHaveLength(6);
  });

  it("mapSettled keeps every outcome: a refusal does not lose the others", async () => {
    const files = [tmp.file("ok.csv", "1\n"), tmp.file("bad.csv", "1\nx\n"), tmp.file("ok2.csv", "2\n")];
    const outcomes = await pool.mapSettled(files, (file, server, signal) =>
      columnSumsCall(server, file, { signal }),
    );
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
    const failed = outcomes[1]!;
    expect(!failed.ok && failed.error).toBeInstanceOf(ClientError);
    expect(!failed.ok && failed.error.codeName).toBe("INVALID_ARGUMENT");
    expect(!failed.ok && failed.error.details).toMatch(/bad\.csv: line 2, column 1/);
  });

  it("cancels a call with an AbortSignal", async () => {
    const controller = new AbortController();
    const call = lesson.sleep(30_000, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(call).rejects.toMatchObject({ codeName: "CANCELLED" });
    // The server is free again: its calls in flight drop back (only the Info call itself remains).
    // Polled: the cancellation reaches the server a moment after the client's rejection.
    await expect
      .poll(
        async () => (await Promise.all(pool.servers.map((s) => s.refreshInfo()))).map((i) => i.callsInFlight),
        {
          timeout: 10_000,
        },
      )
      .toEqual([0, 0]);
  });

  it("names the code in an error's message and carries the standard details (google.rpc.ErrorInfo)", async () => {
    const file = tmp.file("cell.csv", "1;2\n3;x\n");
    const error = (await lesson.columnSums(file).catch((e: unknown) => e)) as ClientError;
    expect(error).toBeInstanceOf(ClientError);
    expect(error.message).toBe(`INVALID_ARGUMENT: ${error.details}`);
    expect(error.details).toContain("line 2, column 2");
    expect(error.errorDetails.errorInfo).toMatchObject({
      reason: "MALFORMED_TABLE",
      metadata: { file, line: "2", column: "2" },
    });
  });

  it("ends a call whose AbortSignal.timeout fires as DEADLINE_EXCEEDED", async () => {
    await expect(lesson.sleep(5_000, { signal: AbortSignal.timeout(150) })).rejects.toMatchObject({
      codeName: "DEADLINE_EXCEEDED",
    });
  });

  it("gives a deadline to every call", async () => {
    await expect(lesson.sleep(5_000, { timeoutMs: 200 })).rejects.toMatchObject({
      codeName: "DEADLINE_EXCEEDED",
    });
  });

  it("skips an unreachable server with a warning, and fails clearly when none is up", async () => {
    const warnings: string[] = [];
    const partial = await Pool.connect([servers.servers[0]!.address, "127.0.0.1:1"], {
      onWarning: (m) => warnings.push(m),
    });
    expect(partial.servers).toHaveLength(1);
    expect(warnings[0]).toMatch(/127\.0\.0\.1:1/);
    await partial.close();
    await expect(Pool.connect(["127.0.0.1:1"])).rejects.toMatchObject({ codeName: "UNAVAILABLE" });
  });
});

describe("pool.apply", () => {
  it("spreads concurrent calls over the servers, the least busy first", async () => {
    const replies = await Promise.all(Array.from({ length: 8 }, () => lesson.sleep(200)));
    const served = replies.map((r) => r.servedBy!.server);
    expect(new Set(served).size).toBe(2);
    for (const server of new Set(served)) expect(served.filter((s) => s === server)).toHaveLength(4);
  });

  it("moves a call to another server when its server is gone", async () => {
    const [doomed] = await startLocalServers(1, { workers: 1, stderr: "ignore" });
    const mixed = await Pool.connect([doomed!.address, servers.servers[0]!.address]);
    try {
      await doomed!.stop();
      const events: string[] = [];
      const onEvent = (e: { type: string }) => events.push(e.type);
      const first = await mixed.apply(
        (server, signal) => server.unary(computeMethods.means, { lists: [{ values: [1, 2] }] }, { signal }),
        {
          onEvent,
        },
      );
      expect(first.means).toEqual([1.5]);
      expect(events).toEqual(["started", "server-lost", "retried", "started", "done"]);
      // The dead server is now known: the next calls go straight to the live one.
      events.length = 0;
      for (let i = 0; i < 3; i++) {
        const again = await mixed.apply(
          (server, signal) => server.unary(computeMethods.means, { lists: [{ values: [4] }] }, { signal }),
          {
            onEvent,
          },
        );
        expect(again.means).toEqual([4]);
      }
      expect(events).toEqual(["started", "done", "started", "done", "started", "done"]);
    } finally {
      await mixed.close();
    }
  });
});
