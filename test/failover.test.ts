import { Pool } from "rpcpool";
import { columnSumsCall, lessonTableBytes } from "rpcpool/lesson";
import { type LocalServer, startLocalServers } from "rpcpool/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

const tmp = tempDir();
let files: string[] = [];
let clean: unknown;

beforeAll(async () => {
  // Tables large enough (about 20 MB each) that a server is still receiving one when it is killed.
  const big = lessonTableBytes(7 * 25_000);
  files = [0, 1, 2, 3, 4, 5].map((i) =>
    tmp.file(`big_${i}.csv`, i % 2 ? big : Buffer.concat([big, Buffer.from(`${i};`.repeat(39) + `${i}\n`)])),
  );
  const servers = await startLocalServers(2, { workers: 1, stderr: "ignore" });
  try {
    const run = await rpcpool(
      ["column-sums", ...files, "--servers", servers.map((s) => s.address).join(","), "--json"],
      { timeoutMs: 120_000 },
    );
    expect(run.code, run.stderr).toBe(0);
    clean = stripServers(run.json());
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}, 180_000);
afterAll(() => tmp.cleanup());

function stripServers(out: { results: Array<{ server: string }> }) {
  return { ...out, results: out.results.map(({ server: _, ...rest }) => rest) };
}

/** Resolves when the server reports a call in flight (polled through its Info method). */
async function whenBusy(server: LocalServer): Promise<void> {
  const pool = await Pool.connect([server.address]);
  try {
    for (let i = 0; i < 2000; i++) {
      const info = await pool.servers[0]!.refreshInfo();
      if (info.callsInFlight > 0) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error("the server never got work");
  } finally {
    await pool.close();
  }
}

describe("failover", () => {
  it("redoes a SIGKILLed server's work elsewhere: the results equal a clean run's", async () => {
    const servers = await startLocalServers(2, { workers: 1, stderr: "ignore" });
    try {
      const job = rpcpool(
        ["column-sums", ...files, "--servers", servers.map((s) => s.address).join(","), "--json"],
        {
          timeoutMs: 120_000,
        },
      );
      await whenBusy(servers[0]!);
      servers[0]!.process.kill("SIGKILL");
      const run = await job;
      expect(run.code, run.stderr).toBe(0);
      expect(stripServers(run.json())).toEqual(clean);
      // Everything after the kill ran on the survivor, and the output says what was retried where.
      expect(run.stderr).toMatch(new RegExp(`retried: .*${servers[0]!.address} -> ${servers[1]!.address}`));
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  });

  it("moves work off a draining server (SIGTERM) without losing a call", async () => {
    const servers = await startLocalServers(2, { workers: 1, stderr: "ignore" });
    try {
      const job = rpcpool(
        ["column-sums", ...files, "--servers", servers.map((s) => s.address).join(","), "--json"],
        {
          timeoutMs: 120_000,
        },
      );
      await whenBusy(servers[0]!);
      servers[0]!.process.kill("SIGTERM");
      const run = await job;
      expect(run.code, run.stderr).toBe(0);
      expect(stripServers(run.json())).toEqual(clean);
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  });

  it("stops with a clear error when no server is left, keeping the results already computed", async () => {
    const servers = await startLocalServers(1, { workers: 1, stderr: "ignore" });
    const pool = await Pool.connect([servers[0]!.address]);
    const inputs = [tmp.file("s1.csv", "1\n"), ...files.slice(0, 3)];
    try {
      const outcomes = await pool.mapSettled(
        inputs,
        (file, server, signal) => columnSumsCall(server, file, { signal }),
        {
          perServer: 1,
          onEvent: (event) => {
            if (event.type === "done" && event.index === 0) servers[0]!.process.kill("SIGKILL");
          },
        },
      );
      expect(outcomes[0]).toMatchObject({ ok: true, value: { sums: [1] } });
      for (const outcome of outcomes.slice(1)) {
        expect(outcome.ok).toBe(false);
        expect(!outcome.ok && outcome.error.codeName).toBe("UNAVAILABLE");
      }
      expect(outcomes.some((o) => !o.ok && /no server left/.test(o.error.details))).toBe(true);
    } finally {
      await pool.close();
      await Promise.all(servers.map((s) => s.stop()));
    }
  });
});
