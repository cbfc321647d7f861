import { Pool } from "rpcpool";
import { LessonClient } from "rpcpool/lesson";
import { describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { rpcpool } from "./support/run-program.js";

// Real rpcpool-server processes with one worker thread each (docs/scheduling.md).
const fair = useServers(1, { workers: 1, args: ["--max-priority-wait-factor", "8"] });
const capped = useServers(1, { workers: 1, args: ["--max-calls-per-client", "2"] });

/** A spin of some tens of milliseconds: CPU-bound work on the server's one worker thread. */
const iterations = 40_000_000;
const hangGuard = { timeoutMs: 60_000 };
// Polls until calls are on the server (they take a moment to get there on loaded cores).
const hangGuardPoll = { timeout: 15_000, interval: 20 };

describe("fair turns between clients on a one-worker server", () => {
  it("serves a second client's call after at most about one task of another's flood", async () => {
    const a = await Pool.connect([fair.servers[0]!.address], { retries: 0 });
    const b = await Pool.connect([fair.servers[0]!.address], { retries: 0 });
    try {
      // What happened, in order, in this process: "A" for each of A's tasks done.
      const order: string[] = [];
      const n = 16;
      let firstDone!: () => void;
      const first = new Promise<void>((resolve) => {
        firstDone = resolve;
      });
      const flood = new LessonClient(a).demo.map(
        "spin",
        Array.from({ length: n }, () => ({ iterations })),
        {
          ...hangGuard,
          perServer: n,
          onEvent: (event) => {
            if (event.type !== "done") return;
            order.push("A");
            firstDone();
          },
        },
      );
      // Once one of A's tasks is done, the others have long reached the server and wait there.
      await first;
      order.push("B sent");
      await new LessonClient(b).spin(iterations, hangGuard);
      order.push("B done");
      await flood;
      const behind = order.slice(order.indexOf("B sent"), order.indexOf("B done")).filter((e) => e === "A");
      // The task running when B came, and perhaps one that started as B's call was on its way.
      expect(behind.length).toBeLessThanOrEqual(2);
      expect(order.filter((e) => e === "A")).toHaveLength(n);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe("priorities", () => {
  it("dispatches a run of higher priority before the pool's lower ones, on one worker", async () => {
    const pool = await Pool.connect([fair.servers[0]!.address], { retries: 0 });
    try {
      const lesson = new LessonClient(pool);
      const order: string[] = [];
      const spins = (n: number) => Array.from({ length: n }, () => ({ iterations }));
      let lowStarted!: () => void;
      const started = new Promise<void>((resolve) => {
        lowStarted = resolve;
      });
      const done = (name: string) => (event: { type: string }) => {
        if (event.type === "started") lowStarted();
        if (event.type === "done") order.push(name);
      };
      const low = lesson.demo.map("spin", spins(6), { ...hangGuard, onEvent: done("low") });
      // The low run holds the one worker; then a run of higher priority comes.
      await started;
      const high = lesson.demo.map("spin", spins(3), { ...hangGuard, priority: 5, onEvent: done("high") });
      await Promise.all([low, high]);
      // The low task already running finishes first; then every high one, then the low rest.
      expect(order).toEqual(["low", "high", "high", "high", "low", "low", "low", "low", "low"]);
    } finally {
      await pool.close();
    }
  });

  it("orders one client's calls on the server by rpcpool-priority, not another client's", async () => {
    const pool = await Pool.connect([fair.servers[0]!.address], { retries: 0 });
    const other = await Pool.connect([fair.servers[0]!.address], { retries: 0 });
    try {
      const lesson = new LessonClient(pool);
      const order: string[] = [];
      const spin = (name: string, priority: number, via = lesson, n = iterations) =>
        via.spin(n, { ...hangGuard, priority, coalesce: false }).then(() => order.push(name));
      // The first holds the worker (a long spin, given time to reach the server: a hang guard, no
      // assertion on time); the others wait on the server, sent in this order.
      const first = spin("first", 0, lesson, 10 * iterations);
      await expect
        .poll(async () => (await pool.servers[0]!.refreshInfo()).callsInFlight, hangGuardPoll)
        .toBe(1);
      const calls = [
        spin("low", -1),
        spin("mid", 0),
        spin("other-client", -9, new LessonClient(other)),
        spin("high", 7),
      ];
      await Promise.all([first, ...calls]);
      expect(order[0]).toBe("first");
      // This client's by priority; the other client had its turn first (it was served least lately).
      expect(order.filter((name) => name !== "other-client")).toEqual(["first", "high", "mid", "low"]);
      expect(order.indexOf("other-client")).toBeLessThanOrEqual(2);
    } finally {
      await Promise.all([pool.close(), other.close()]);
    }
  });
});

describe("--max-calls-per-client", () => {
  it("refuses a client's calls beyond the bound with RESOURCE_EXHAUSTED, saying so", async () => {
    const pool = await Pool.connect([capped.servers[0]!.address], { retries: 0 });
    try {
      const lesson = new LessonClient(pool);
      const codes = await Promise.all(
        [1, 2, 3, 4].map(() =>
          lesson.sleep(400, hangGuard).then(
            () => "ok",
            (error) => `${error.codeName}: ${error.message}`,
          ),
        ),
      );
      expect(codes.filter((c) => c === "ok")).toHaveLength(2);
      const refused = codes.filter((c) => c !== "ok");
      expect(refused).toHaveLength(2);
      for (const c of refused) expect(c).toMatch(/^RESOURCE_EXHAUSTED: .*--max-calls-per-client/);
    } finally {
      await pool.close();
    }
  });

  it("counts each rpcpool-client name apart, on one connection", async () => {
    const pool = await Pool.connect([capped.servers[0]!.address], { retries: 0 });
    try {
      const lesson = new LessonClient(pool);
      const as = (name: string) =>
        lesson.sleep(400, { ...hangGuard, metadata: { "rpcpool-client": name } }).then(
          () => "ok",
          (error) => `${error.codeName}: ${error.message}`,
        );
      const codes = await Promise.all([as("alice"), as("alice"), as("bob"), as("bob"), as("alice")]);
      expect(codes.slice(0, 4)).toEqual(["ok", "ok", "ok", "ok"]);
      expect(codes[4]).toMatch(/^RESOURCE_EXHAUSTED: .*client "alice".*--max-calls-per-client/);
    } finally {
      await pool.close();
    }
  });

  it("counts a pool's clientName across its connections: two pools of one name are one client", async () => {
    const address = capped.servers[0]!.address;
    const pools = await Promise.all(
      [1, 2].map(() => Pool.connect([address], { retries: 0, clientName: "carol" })),
    );
    try {
      const codes = await Promise.all(
        pools.flatMap((pool) =>
          [1, 2].map(() =>
            new LessonClient(pool).sleep(400, { ...hangGuard, coalesce: false }).then(
              () => "ok",
              (error) => error.codeName,
            ),
          ),
        ),
      );
      expect(codes.filter((c) => c === "ok")).toHaveLength(2);
      expect(codes.filter((c) => c === "RESOURCE_EXHAUSTED")).toHaveLength(2);
    } finally {
      await Promise.all(pools.map((pool) => pool.close()));
    }
  });

  it("rpcpool --client-name counts a command's calls under that name (and takes --priority)", async () => {
    const address = capped.servers[0]!.address;
    const pool = await Pool.connect([address], { retries: 0, clientName: "dave" });
    const stop = new AbortController();
    try {
      // Two long sleeps hold dave's two places until the command has been refused (then cancelled).
      const held = [1, 2].map(() =>
        new LessonClient(pool)
          .sleep(60_000, { ...hangGuard, coalesce: false, signal: stop.signal })
          .catch(() => "cancelled"),
      );
      await expect
        .poll(async () => (await pool.servers[0]!.refreshInfo()).callsInFlight, hangGuardPoll)
        .toBe(2);
      const sleep = '{"milliseconds":1}';
      const method = "rpcpool.compute.v1.DemoService/Sleep";
      const as = (name: string) =>
        rpcpool(["call", method, sleep, "--servers", address, "--client-name", name, "--priority", "3"]);
      const [refused, other] = await Promise.all([as("dave"), as("erin")]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/RESOURCE_EXHAUSTED.*client "dave".*--max-calls-per-client/);
      expect(other.code).toBe(0);
      stop.abort();
      await Promise.all(held);
    } finally {
      stop.abort();
      await pool.close();
    }
  });
});
