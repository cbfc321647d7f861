import { afterEach, describe, expect, it } from "vitest";
import { ClientError } from "../rpc/client-error.js";
import { Status as status } from "../rpc/grpc-status.js";
import type { Outcome, PoolEvent } from "./outcome.js";
import { settledAsCompleted, settledInOrder, settledInOrderStream } from "./outcome-streams.js";
import { ServerConnection } from "./server-connection.js";
import { TaskEngine } from "./task-engine.js";
import type { RunSettings } from "./task-run.js";

// The engine's scheduling is pure: tasks here are the caller's functions, and the connections are
// never called, so no server is needed. Integration tests run the same engine against real servers.
const made: ServerConnection[] = [];
function servers(n: number, cooldownMs = 5_000): ServerConnection[] {
  const list = Array.from(
    { length: n },
    (_, i) => new ServerConnection(`127.0.0.1:${1000 + i}`, { cooldownMs }),
  );
  made.push(...list);
  return list;
}
afterEach(() => {
  for (const s of made.splice(0)) s.close();
});

const settings = (over: Partial<RunSettings> = {}): RunSettings => ({ retries: 3, listeners: [], ...over });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const unavailable = () => new ClientError(status.UNAVAILABLE, "connection refused");

describe("the task engine", () => {
  it("runs every input across the servers, in input order, within each server's limit", async () => {
    const list = servers(3);
    const engine = new TaskEngine(() => list);
    const running = new Map<string, number>();
    let most = 0;
    const outcomes = await settledInOrder(
      engine,
      Array.from({ length: 30 }, (_, i) => i),
      async (i, server) => {
        const n = (running.get(server.address) ?? 0) + 1;
        running.set(server.address, n);
        most = Math.max(most, n);
        await sleep(2);
        running.set(server.address, n - 1);
        return i * 2;
      },
      settings({ perServer: 2 }),
    );
    expect(outcomes.map((o) => o.ok && o.value)).toEqual(Array.from({ length: 30 }, (_, i) => i * 2));
    expect(most).toBe(2);
    expect(new Set(outcomes.map((o) => o.server)).size).toBe(3);
  });

  it("moves a task whose server failed to another, and keeps the failed server out for its cool-down", async () => {
    const [a, b] = servers(2);
    const engine = new TaskEngine(() => [a!, b!]);
    const events: PoolEvent[] = [];
    const outcomes = await settledInOrder(
      engine,
      [0, 1, 2, 3, 4, 5],
      async (i, server) => {
        await sleep(1);
        if (server === a) throw unavailable();
        return i;
      },
      settings({ perServer: 1, listeners: [(e) => events.push(e)] }),
    );
    expect(outcomes.every((o) => o.ok)).toBe(true);
    // One incident: a failed once (its first task), then got nothing while cooling.
    expect(events.filter((e) => e.type === "server-lost")).toHaveLength(1);
    expect(outcomes.filter((o) => o.attempts.includes(a!.address))).toHaveLength(1);
    expect(outcomes.find((o) => o.attempts.length === 2)!.attempts).toEqual([a!.address, b!.address]);
  });

  it("retries on the one server there is after a back-off, when the failure was transient", async () => {
    const [only] = servers(1);
    const engine = new TaskEngine(() => [only!]);
    let calls = 0;
    const started = Date.now();
    const [outcome] = await settledInOrder(
      engine,
      ["x"],
      async () => {
        if (++calls === 1) throw unavailable();
        return "ok";
      },
      settings(),
    );
    expect(outcome).toMatchObject({ ok: true, value: "ok" });
    expect(outcome!.attempts).toEqual([only!.address, only!.address]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });

  it("gives up after the retry budget with the server's error, and never retries bad input", async () => {
    const [a, b] = servers(2);
    const engine = new TaskEngine(() => [a!, b!]);
    let badCalls = 0;
    const outcomes = await settledInOrder(
      engine,
      ["dead", "bad"],
      async (input) => {
        if (input === "bad") {
          badCalls++;
          throw new ClientError(status.INVALID_ARGUMENT, "bad input");
        }
        throw unavailable();
      },
      settings({ retries: 2 }),
    );
    const [dead, bad] = outcomes as Array<Extract<Outcome<unknown>, { ok: false }>>;
    expect(dead!.error.codeName).toBe("UNAVAILABLE");
    expect(dead!.attempts).toHaveLength(3);
    expect(bad!.error.codeName).toBe("INVALID_ARGUMENT");
    expect(badCalls).toBe(1);
  });

  it("tries a failed server again once its cool-down is over", async () => {
    const [a, b] = servers(2, 50);
    const engine = new TaskEngine(() => [a!, b!]);
    let aUp = false;
    const run = (inputs: number[]) =>
      settledInOrder(
        engine,
        inputs,
        async (i, server) => {
          if (server === a && !aUp) throw unavailable();
          return i;
        },
        settings({ perServer: 1 }),
      );
    await run([1, 2]);
    expect(a!.cooling).toBe(true);
    aUp = true;
    await sleep(60);
    const outcomes = await run([3, 4, 5, 6]);
    expect(outcomes.some((o) => o.server === a!.address)).toBe(true);
    expect(a!.failures).toBe(0);
  });

  it("settles every task with an error when a listener or the task function throws", async () => {
    const list = servers(1);
    const engine = new TaskEngine(() => list);
    const outcomes = await settledInOrder(
      engine,
      [1, 2, 3],
      (i) => {
        if (i === 2) throw new Error("synchronous bug");
        return Promise.resolve(i);
      },
      settings({ perServer: 1 }),
    );
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
    const throwing = await settledInOrder(
      engine,
      [1, 2, 3],
      async (i) => i,
      settings({
        perServer: 1,
        listeners: [
          (e) => {
            if (e.type === "done") throw new Error("listener bug");
          },
        ],
      }),
    );
    expect(throwing.filter((o) => !o.ok).length).toBeGreaterThan(0);
    expect(throwing.find((o) => !o.ok && o.error.details.includes("listener bug"))).toBeDefined();
  });

  it("streams a generator as completed, never reading more than the window ahead", async () => {
    const list = servers(2);
    const engine = new TaskEngine(() => list);
    let pulled = 0;
    function* inputs() {
      for (let i = 0; i < 20_000; i++) {
        pulled++;
        yield i;
      }
    }
    let consumed = 0;
    let most = 0;
    let sum = 0;
    for await (const outcome of settledAsCompleted(
      engine,
      inputs(),
      async (i) => i,
      settings({ perServer: 8 }),
      100,
    )) {
      consumed++;
      most = Math.max(most, pulled - consumed);
      if (outcome.ok) sum += outcome.value;
    }
    expect(consumed).toBe(20_000);
    expect(sum).toBe((20_000 * 19_999) / 2);
    expect(most).toBeLessThanOrEqual(100 + 64);
  });

  it("streams in input order with a bounded window, and stops the rest when the loop breaks", async () => {
    const list = servers(2);
    const engine = new TaskEngine(() => list);
    let pulled = 0;
    async function* inputs() {
      for (let i = 0; ; i++) {
        pulled++;
        yield i;
      }
    }
    const seen: number[] = [];
    for await (const outcome of settledInOrderStream(
      engine,
      inputs(),
      async (i: number) => {
        await sleep(i % 3);
        return i;
      },
      settings({ perServer: 4 }),
      50,
    )) {
      seen.push(outcome.ok ? outcome.value : -1);
      if (seen.length === 500) break;
    }
    expect(seen).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(pulled).toBeLessThanOrEqual(500 + 51);
  });

  it("cancels queued and running tasks when the caller's signal aborts", async () => {
    const list = servers(1);
    const engine = new TaskEngine(() => list);
    const controller = new AbortController();
    let cancelledInFlight = 0;
    const done = settledInOrder(
      engine,
      [1, 2, 3, 4],
      (_, __, signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener("abort", () => {
            cancelledInFlight++;
            reject(new ClientError(status.CANCELLED, "cancelled"));
          });
        }),
      settings({ perServer: 2, signal: controller.signal }),
    );
    await sleep(5);
    controller.abort();
    const outcomes = await done;
    expect(outcomes.map((o) => !o.ok && o.error.codeName)).toEqual([
      "CANCELLED",
      "CANCELLED",
      "CANCELLED",
      "CANCELLED",
    ]);
    expect(cancelledInFlight).toBe(2);
  });

  it("hands work to a server that joins mid-run, and none to one that left", async () => {
    const [a, b] = servers(2);
    const members = [a!];
    const engine = new TaskEngine(() => members);
    const outcomes = await settledInOrder(
      engine,
      Array.from({ length: 40 }, (_, i) => i),
      async (i) => {
        await sleep(2);
        if (i === 5) {
          members.push(b!);
          engine.pump();
        }
        if (i === 25) members.splice(members.indexOf(a!), 1);
        return i;
      },
      settings({ perServer: 1 }),
    );
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(outcomes.slice(10).some((o) => o.server === b!.address)).toBe(true);
    expect(outcomes.slice(30).every((o) => o.server === b!.address)).toBe(true);
  });
});
