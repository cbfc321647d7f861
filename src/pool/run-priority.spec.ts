import { describe, expect, it } from "vitest";
import { RunPriorities } from "./run-priority.js";
import type { ServerConnection } from "./server-connection.js";
import type { Run } from "./task-run.js";

type AnyRun = Run<unknown, unknown>;
const server = {} as ServerConnection;

/** The little of a run the priorities read: its priority, its queue, what it has on each server. */
function run(priority: number, queued: number, onServer = 0): AnyRun & { queued: number } {
  return {
    settings: { priority, retries: 0, listeners: [] },
    queued,
    aborted: undefined,
    busy: new Map(onServer ? [[server, onServer]] : []),
  } as unknown as AnyRun & { queued: number };
}

describe("RunPriorities", () => {
  it("keeps the runs' order when no run has a priority", () => {
    const p = new RunPriorities();
    const runs = [run(0, 3), run(0, 1), run(0, 2)];
    expect(p.order(runs, 0)).toEqual(runs);
  });

  it("asks higher priorities first, equal ones in the order they came", () => {
    const p = new RunPriorities();
    const [a, b, c, d] = [run(0, 1), run(5, 1), run(-1, 1), run(5, 1)];
    expect(p.order([a!, b!, c!, d!], 0)).toEqual([b, d, a, c]);
  });

  it("makes a run yield a server only to a higher one using it with more queued", () => {
    const p = new RunPriorities();
    const low = run(0, 4);
    const high = run(3, 2, 1);
    expect(p.outranked(low, server, [low, high], 0)).toBe(true);
    expect(p.outranked(high, server, [low, high], 0)).toBe(false);
    // Not using the server, or nothing more to send: the server is the low run's to use.
    expect(p.outranked(low, server, [low, run(3, 2, 0)], 0)).toBe(false);
    expect(p.outranked(low, server, [low, run(3, 0, 1)], 0)).toBe(false);
  });

  it("ages: a run held back for its factor of mean task times goes first", () => {
    const p = new RunPriorities(4);
    const low = run(0, 4);
    const high = run(3, 2, 1);
    p.order([low, high], 0);
    p.started(low, 0);
    // High-priority tasks of 10 ms each: the low run is due after 4 x 10 ms without a start.
    for (let t = 10; t <= 40; t += 10) {
      p.settled(10);
      expect(p.outranked(low, server, [low, high], t)).toBe(true);
    }
    expect(p.outranked(low, server, [low, high], 41)).toBe(false);
    expect(p.order([low, high], 41)).toEqual([low, high]);
    // Once it started a task, its wait starts again.
    p.started(low, 41);
    expect(p.outranked(low, server, [low, high], 42)).toBe(true);
  });
});
