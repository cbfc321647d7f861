import { afterEach, describe, expect, it } from "vitest";
import { settledInOrder } from "./outcome-streams.js";
import { ServerConnection } from "./server-connection.js";
import { holdBack, rateUnit, relativeSpeeds, ServerRate } from "./server-rates.js";
import { TaskEngine } from "./task-engine.js";
import type { RunSettings } from "./task-run.js";

// Times are given explicitly (the `now` arguments): the estimator is arithmetic, not a clock.
const token = () => ({});
const u = rateUnit(true);

/** A rate measured from one task of `weight` taking `ms`, with `concurrent` calls in flight. */
function measured(weight: number, ms: number, concurrent = 1): ServerRate {
  const rate = new ServerRate();
  const t = token();
  rate.started(t, u, weight, concurrent, 0);
  rate.finished(t, { weight, concurrent, unit: u }, ms);
  return rate;
}

describe("ServerRate", () => {
  it("knows nothing before a success, and a failure is no sample", () => {
    const rate = new ServerRate();
    expect(rate.throughputOf(u)).toBeUndefined();
    expect(rate.expectedMs(u, 100, 1)).toBeUndefined();
    const t = token();
    rate.started(t, u, 100, 1, 0);
    rate.finished(t, undefined, 50);
    expect(rate.throughputOf(u)).toBeUndefined();
    expect(rate.samples).toBe(0);
  });

  it("measures throughput as weight over time, times the calls sharing the server", () => {
    expect(measured(1000, 100).throughputOf(u)).toBe(10);
    // Four calls at once, each taking 400 ms for 1000 bytes: the server did 10 bytes/ms.
    expect(measured(1000, 400, 4).throughputOf(u)).toBe(10);
    expect(measured(1000, 100).expectedMs(u, 500, 2)).toBe(100);
  });

  it("smooths samples (EWMA): one slow task moves the estimate only part of the way", () => {
    const rate = measured(1000, 100);
    const t = token();
    rate.started(t, u, 1000, 1, 1000);
    rate.finished(t, { weight: 1000, concurrent: 1, unit: u }, 2000); // 1 byte/ms
    expect(rate.throughputOf(u)).toBeGreaterThan(5);
    expect(rate.throughputOf(u)).toBeLessThan(10);
    expect(rate.samples).toBe(2);
  });

  it("keeps rates apart by unit: a sleep's rate says nothing of a sum's", () => {
    const rate = measured(1000, 100);
    const sleeps = rateUnit(false, "/demo.Demo/Sleep");
    const t = token();
    rate.started(t, sleeps, 1, 1, 0);
    rate.finished(t, { weight: 1, concurrent: 1, unit: sleeps }, 10);
    expect(rate.throughputOf(sleeps)).toBeCloseTo(0.1);
    expect(rate.throughputOf(u)).toBe(10);
    expect(rate.throughputOf(rateUnit(false, "/demo.Demo/Spin"))).toBeUndefined();
  });

  it("tells when the first call in flight should end", () => {
    const rate = measured(1000, 100); // 10 bytes/ms
    expect(rate.freeInMs(0)).toBe(0);
    rate.started(token(), u, 1000, 1, 1000); // expected to end at 1100
    rate.started(token(), u, 3000, 1, 1000); // at 1300
    expect(rate.freeInMs(1050)).toBe(50);
    expect(rate.freeInMs(1200)).toBe(0);
  });
});

describe("holdBack", () => {
  const server = (rate: ServerRate, inFlight: number, limit: number) => ({ rate, inFlight, limit });

  it("keeps the last task off a slow server that a faster one will finish first", () => {
    const slow = server(measured(100, 100), 0, 1); // 1 byte/ms
    const fast = server(measured(400, 100), 1, 1); // 4 bytes/ms, busy
    // One task left: on the slow server 100 ms; the fast one is free in 25 ms and takes 25.
    const call = token();
    fast.rate.started(call, u, 100, 1, 100);
    expect(holdBack(slow, [fast], 1, 100, u, 100)).toBe(true);
    // Plenty queued: the slow server takes work.
    expect(holdBack(slow, [fast], 10, 100, u, 100)).toBe(false);
    // The fast server busy with a big call (1000 bytes: 250 ms) would finish it later: no wait.
    fast.rate.finished(call);
    fast.rate.started(token(), u, 1000, 1, 100);
    expect(holdBack(slow, [fast], 1, 100, u, 100)).toBe(false);
  });

  it("never holds back when a server has no measurement, or the others are no faster", () => {
    const unknown = server(new ServerRate(), 0, 1);
    const fast = server(measured(400, 100), 1, 1);
    expect(holdBack(unknown, [fast], 1, 100, u)).toBe(false);
    expect(holdBack(server(measured(100, 100), 0, 1), [unknown], 1, 100, u)).toBe(false);
    const same = server(measured(100, 100), 0, 1);
    expect(holdBack(same, [server(measured(100, 100), 1, 1)], 1, 100, u)).toBe(false);
    // A fifth faster is noise, not a faster server: the task starts here.
    expect(holdBack(same, [server(measured(120, 100), 0, 1)], 1, 100, u)).toBe(false);
  });
});

describe("relativeSpeeds", () => {
  it("are the measured throughputs when every server has one, else the worker threads", () => {
    const info = (workers: number) => ({ workers });
    expect(relativeSpeeds([{ info: info(1) }, { info: info(4) }])).toEqual([1, 4]);
    expect(
      relativeSpeeds([
        { info: info(1), rate: measured(300, 100) },
        { info: info(1), rate: measured(100, 100) },
      ]),
    ).toEqual([3, 1]);
    expect(relativeSpeeds([{ info: info(2), rate: measured(300, 100) }, { info: info(2) }])).toEqual([2, 2]);
  });
});

describe("the engine over servers of different speed", () => {
  const made: ServerConnection[] = [];
  afterEach(() => {
    for (const s of made.splice(0)) s.close();
  });
  // Rates are kept per method (a bare task function with no weight is not measured).
  const settings = (over: Partial<RunSettings> = {}): RunSettings => ({
    retries: 0,
    listeners: [],
    method: "/bench.v1.Work/Run",
    // Equal tasks, said so: only runs that weigh their inputs are steered by rate.
    weightOf: () => 1,
    ...over,
  });

  it("gives a slow server proportionally fewer tasks and not the last ones", async () => {
    const fast = new ServerConnection("127.0.0.1:1001");
    const slow = new ServerConnection("127.0.0.1:1002");
    made.push(fast, slow);
    const engine = new TaskEngine(() => [slow, fast]);
    // Each task takes 10 ms on the fast server and 60 ms on the slow one (simulated servers: no
    // sockets; the real-process test is test/hetero-servers.test.ts).
    const work = (_: number, s: { address: string }) =>
      new Promise<string>((r) => setTimeout(() => r(s.address), s === fast ? 10 : 60));
    await settledInOrder(engine, [0, 1, 2, 3], work, settings({ perServer: 1 })); // measures both
    const outcomes = await settledInOrder(
      engine,
      Array.from({ length: 40 }, (_, i) => i),
      work,
      settings({ perServer: 1 }),
    );
    const onSlow = outcomes.filter((o) => o.server === slow.address).length;
    // 6:1 speeds: about 6 of 40 tasks; bounds generous (timers on a busy machine are coarse).
    expect(onSlow).toBeGreaterThan(1);
    expect(onSlow).toBeLessThan(16);
    // Two tasks left: the fast server runs both before the slow one would finish one of them.
    const tail = await settledInOrder(engine, [0, 1], work, settings({ perServer: 1 }));
    expect(tail.map((o) => o.server)).toEqual([fast.address, fast.address]);
  });
});
