import { Pool, type PoolServer, type RunningServer, startServer } from "rpcpool";
import { ComputeServiceDefinition, computeMethods, LessonClient } from "rpcpool/lesson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServerConnection } from "../dist/src/pool/server-connection.js";
import { TaskEngine } from "../dist/src/pool/task-engine.js";
import { useServers } from "./support/local-servers.js";
import { type LyingServer, startLyingServer } from "./support/lying-server.js";

// Whatever a task runner, an event listener or an outcome handler throws, and whatever a server
// answers, every task settles: nothing hangs, nothing is an unhandled rejection.
const servers = useServers(1);
let pool: Pool;
let liar: LyingServer;
beforeAll(async () => {
  pool = await Pool.connect([servers.list]);
  liar = await startLyingServer();
});
afterAll(async () => {
  await pool.close();
  await liar.close();
});

const means = (values: number[]) => ({ lists: [{ values }] });

describe("a task runner that throws", () => {
  it("fails its own task, synchronously thrown or rejected, and the others run", async () => {
    const outcomes = await pool.mapSettled([1, 2, 3, 4], (n, server, signal) => {
      if (n === 2) throw new Error("thrown before any call");
      if (n === 3) return Promise.reject(new Error("rejected"));
      return server.unary(computeMethods.means, means([n]), { signal });
    });
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, false, true]);
    expect(outcomes[1]).toMatchObject({
      ok: false,
      error: { codeName: "UNKNOWN", details: "thrown before any call" },
    });
  });
});

describe("an onEvent listener that throws", () => {
  it("settles the run with an error in words", async () => {
    const outcomes = await pool.mapSettled(
      [1, 2, 3],
      (n, server, signal) => server.unary(computeMethods.means, means([n]), { signal }),
      {
        onEvent: (event) => {
          if (event.type === "done") throw new Error("listener bug");
        },
      },
    );
    expect(outcomes).toHaveLength(3);
    expect(outcomes.some((o) => !o.ok && /an event listener threw: listener bug/.test(o.error.details))).toBe(
      true,
    );
  });
});

describe("an onOutcome handler that throws", () => {
  it("ends the run: its done promise resolves, the rest fail", async () => {
    // The engine is Pool's internal: this builds a run of its own with a handler that throws.
    const server = new ServerConnection(servers.list);
    await server.hello();
    const engine = new TaskEngine(() => [server]);
    let handled = 0;
    try {
      const run = engine.start(
        (n: number, on: PoolServer, signal: AbortSignal) =>
          on.unary(computeMethods.means, means([n]), { signal }),
        { retries: 3, listeners: [] },
        () => {
          handled++;
          if (handled === 1) throw new Error("handler bug");
        },
      );
      await run.feed([1, 2, 3, 4], 100);
      await run.done;
      expect(run.aborted?.details).toMatch(/an outcome handler threw: handler bug/);
      expect(handled).toBe(4);
    } finally {
      engine.close();
      server.close();
    }
  });
});

describe("a batch reply with fewer results than requests", () => {
  it("is the server's fault: the batch runs again on another server", async () => {
    liar.lie = "short-batch";
    const both = await Pool.connect([liar.address, servers.list]);
    try {
      const compute = both.service(ComputeServiceDefinition);
      const radii = Array.from({ length: 8 }, (_, i) => ({ radii: [i + 1], pi: 0 }));
      const replies = await compute.map("circles", radii, { chunksize: 4, idempotent: true });
      expect(replies.map((r) => r.lengths[0])).toEqual(radii.map((r) => 2 * Math.PI * r.radii[0]!));
      expect(liar.calls.batch).toBeGreaterThan(0);
    } finally {
      await both.close();
    }
  });

  it("from the only server fails every item as INTERNAL naming it, and does not hang", async () => {
    liar.lie = "short-batch";
    const alone = await Pool.connect([liar.address]);
    try {
      const outcomes = await alone.service(ComputeServiceDefinition).mapSettled(
        "circles",
        [
          { radii: [1], pi: 0 },
          { radii: [2], pi: 0 },
        ],
        { chunksize: 2, retries: 0 },
      );
      expect(outcomes).toHaveLength(2);
      for (const outcome of outcomes) {
        expect(outcome).toMatchObject({ ok: false, error: { codeName: "INTERNAL" } });
        expect(!outcome.ok && outcome.error.details).toContain(
          `${liar.address} sent a malformed reply: a batch of 2 requests came back with 1 results`,
        );
      }
    } finally {
      await alone.close();
    }
  });
});

describe("a malformed reply through the lesson's client", () => {
  it("is checked in every item of a batch, and moved to another server", async () => {
    liar.lie = "nan";
    const both = await Pool.connect([liar.address, servers.list]);
    try {
      const lesson = new LessonClient(both);
      const inputs = Array.from({ length: 6 }, (_, i) => ({ radii: [i + 1], pi: 0 }));
      const replies = await lesson.compute.map("circles", inputs, { chunksize: 3, idempotent: true });
      for (const reply of replies) expect(Number.isFinite(reply.lengths[0])).toBe(true);
      expect(new Set(replies.map((r) => r.servedBy!.server))).toEqual(new Set([servers.list]));
    } finally {
      await both.close();
    }
  });
});

describe("DNS re-resolution", () => {
  const running: RunningServer[] = [];
  afterAll(async () => {
    await Promise.all(running.map((s) => s.close(0)));
  });

  it("drops two servers that leave in the same round", async () => {
    const first = await startServer({ host: "127.0.0.1", port: 0, workers: 1 });
    running.push(first);
    const port = first.address.split(":")[1]!;
    for (const host of ["127.0.0.2", "127.0.0.3"]) {
      running.push(await startServer({ host, port: Number(port), workers: 1 }));
    }
    let answer = ["127.0.0.1", "127.0.0.2", "127.0.0.3"];
    let lookupsSinceChange = -1;
    let afterOneRound: number | undefined;
    let dynamic: Pool | undefined;
    const lookup = async () => {
      if (lookupsSinceChange >= 0) {
        lookupsSinceChange++;
        // The second lookup after the change starts once the first round is over: count then.
        if (lookupsSinceChange === 2) afterOneRound = dynamic!.servers.length;
      }
      return answer;
    };
    dynamic = await Pool.connect([`dns:///cluster:${port}`], { resolveEveryMs: 30, lookup });
    try {
      expect(dynamic.servers).toHaveLength(3);
      answer = ["127.0.0.1"];
      lookupsSinceChange = 0;
      for (let i = 0; i < 400 && afterOneRound === undefined; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(afterOneRound).toBe(1);
      expect(dynamic.servers.map((s) => s.address)).toEqual([`127.0.0.1:${port}`]);
    } finally {
      await dynamic.close();
    }
  });
});
