import { Pool } from "rpcpool";
import { LessonClient, lessonTableBytes } from "rpcpool/lesson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

const limited = useServers(1, {
  args: [
    "--max-message-bytes",
    "300000",
    "--max-calls-per-connection",
    "2",
    "--max-deadline-ms",
    "900000",
    "--max-table-bytes",
    "500000",
  ],
});
const tmp = tempDir();
let pool: Pool;
beforeAll(async () => {
  pool = await Pool.connect([limited.servers[0]!.address], { retries: 0 });
});
afterAll(async () => {
  await pool.close();
  tmp.cleanup();
});

describe("server limits: refused in words, never a crash", () => {
  it("caps the table size per call with RESOURCE_EXHAUSTED", async () => {
    const big = tmp.file("big.csv", lessonTableBytes(7000));
    const run = await rpcpool(["column-sums", big, "--servers", limited.list, "--json", "--split", "none"]);
    expect(run.code).toBe(1);
    expect(run.json().errors[0]).toMatchObject({ code: "RESOURCE_EXHAUSTED" });
    expect(run.json().errors[0].message).toMatch(/500000 bytes/);
  });

  // Tables travel in 256 KiB messages: a server's message cap must stay above that.
  it("caps the message size", async () => {
    const values = Array.from({ length: 40_000 }, (_, i) => i);
    await expect(new LessonClient(pool).means([values])).rejects.toMatchObject({
      codeName: "RESOURCE_EXHAUSTED",
    });
  });

  it("caps the deadline a call may ask for", async () => {
    await expect(new LessonClient(pool).sleep(1, { timeoutMs: 1_200_000 })).rejects.toMatchObject({
      codeName: "INVALID_ARGUMENT",
    });
    await expect(new LessonClient(pool).sleep(1, { timeoutMs: 30_000 })).resolves.toBeTruthy();
  });

  it("bounds the calls in flight from one connection", async () => {
    const calls = [1, 2, 3, 4].map(() =>
      new LessonClient(pool).sleep(300, { timeoutMs: 10_000 }).then(
        () => "ok",
        (e) => e.codeName,
      ),
    );
    const codes = await Promise.all(calls);
    expect(codes.filter((c) => c === "ok")).toHaveLength(2);
    expect(codes.filter((c) => c === "RESOURCE_EXHAUSTED")).toHaveLength(2);
  });

  it("is still up after all of that", async () => {
    expect((await pool.servers[0]!.refreshInfo()).pid).toBe(limited.servers[0]!.process.pid);
  });
});
