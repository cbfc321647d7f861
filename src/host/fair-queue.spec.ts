import { describe, expect, it } from "vitest";
import { FairQueue } from "./fair-queue.js";

function recorder() {
  const started: string[] = [];
  const task = (name: string) => ({ dropped: false, start: () => started.push(name) });
  return { started, task };
}

describe("FairQueue", () => {
  it("runs up to its threads, then lets kinds take turns", () => {
    const q = new FairQueue(2, 0);
    const { started, task } = recorder();
    for (const name of ["a1", "a2", "a3", "a4", "b1", "b2"]) q.add(name[0]!, task(name));
    expect(started).toEqual(["a1", "a2"]);
    q.done("a");
    q.done("a");
    q.done("a");
    expect(started).toEqual(["a1", "a2", "a3", "b1", "a4"]);
  });

  it("starts a kind with nothing running on a spare thread, but not a second of it", () => {
    const q = new FairQueue(1, 1);
    const { started, task } = recorder();
    q.add("spin", task("spin1"));
    q.add("spin", task("spin2"));
    q.add("table", task("table1"));
    q.add("table", task("table2"));
    expect(started).toEqual(["spin1", "table1"]);
    expect(q.running).toBe(2);
  });

  it("skips dropped tasks, and a queue of dropped tasks does not hold new ones back", () => {
    const q = new FairQueue(1, 0);
    const { started, task } = recorder();
    q.add("a", task("a1"));
    const dropped = Array.from({ length: 5000 }, (_, i) => task(`d${i}`));
    for (const t of dropped) q.add("a", t);
    for (const t of dropped) t.dropped = true;
    q.done("a");
    q.add("a", task("a2"));
    expect(started).toEqual(["a1", "a2"]);
  });

  it("says how many tasks of each kind wait, those dropped left out (the metrics' gauge)", () => {
    const q = new FairQueue(1, 0);
    const { task } = recorder();
    q.add("a", task("a1"));
    const waiting = [task("a2"), task("a3"), task("b1")];
    q.add("a", waiting[0]!);
    q.add("a", waiting[1]!);
    q.add("b", waiting[2]!);
    expect(q.waiting()).toEqual(
      new Map([
        ["a", 2],
        ["b", 1],
      ]),
    );
    waiting[0]!.dropped = true;
    waiting[2]!.dropped = true;
    expect(q.waiting()).toEqual(new Map([["a", 1]]));
    q.done("a");
    expect(q.waiting()).toEqual(new Map());
  });
});
