import { describe, expect, it } from "vitest";
import { FairQueue } from "./fair-queue.js";

function recorder() {
  const started: string[] = [];
  const running: string[] = [];
  const task = (name: string, client = "") => ({
    dropped: false,
    start: () => {
      started.push(name);
      running.push(client);
    },
  });
  /** Ends the task that started first of those running (one thread: the one running). */
  const finish = (q: FairQueue, kind: string, ranMs = 1) => q.done(kind, ranMs, running.shift());
  return { started, task, finish };
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

  it("lets clients take turns: one client's backlog delays another's task by one task", () => {
    const q = new FairQueue(1, 0);
    const { started, task, finish } = recorder();
    for (let i = 1; i <= 5; i++) q.add("spin", task(`a${i}`, "A"), { client: "A" });
    q.add("spin", task("b1", "B"), { client: "B" });
    expect(started).toEqual(["a1"]);
    finish(q, "spin");
    expect(started).toEqual(["a1", "b1"]);
    for (let i = 0; i < 4; i++) finish(q, "spin");
    expect(started).toEqual(["a1", "b1", "a2", "a3", "a4", "a5"]);
  });

  it("alternates two backlogged clients, and keeps turns between kinds inside a client", () => {
    const q = new FairQueue(1, 0);
    const { started, task, finish } = recorder();
    q.add("x", task("run", "C"), { client: "C" });
    for (const name of ["a-spin1", "a-spin2", "a-table1"])
      q.add(name.slice(2, -1), task(name, "A"), { client: "A" });
    for (const name of ["b-spin1", "b-spin2"]) q.add("spin", task(name, "B"), { client: "B" });
    for (let i = 0; i < 5; i++) finish(q, "x");
    expect(started).toEqual(["run", "a-spin1", "b-spin1", "a-table1", "b-spin2", "a-spin2"]);
  });

  it("orders a client's own tasks by priority, but not another client's", () => {
    const q = new FairQueue(1, 0);
    const { started, task, finish } = recorder();
    q.add("k", task("a-low1", "A"), { client: "A", priority: 0 });
    q.add("k", task("a-low2", "A"), { client: "A", priority: 0 });
    q.add("k", task("a-high", "A"), { client: "A", priority: 5 });
    q.add("k", task("b-low", "B"), { client: "B", priority: -3 });
    q.add("k", task("a-top", "A"), { client: "A", priority: 9 });
    for (let i = 0; i < 5; i++) finish(q, "k");
    // a-low1 started at once (a thread was free); then B (A had the last turn), then A's by priority.
    expect(started).toEqual(["a-low1", "b-low", "a-top", "a-high", "a-low2"]);
  });

  it("ages: a low-priority task waiting its factor of mean task times goes before new high ones", () => {
    let now = 0;
    const q = new FairQueue(1, 0, { maxPriorityWaitFactor: 3, now: () => now });
    const { started, task, finish } = recorder();
    q.add("k", task("h0", "A"), { client: "A", priority: 1 });
    q.add("k", task("low", "A"), { client: "A", priority: 0 });
    let n = 0;
    // High-priority tasks keep coming, each running 10 ms: low is due once it waited 3 x 10 ms.
    for (; n < 10 && !started.includes("low"); n++) {
      q.add("k", task(`h${n + 1}`, "A"), { client: "A", priority: 1 });
      now += 10;
      finish(q, "k", 10);
    }
    // Low came at 0; at 30 ms (3 x the 10 ms mean) it is due, before the h3 that came at 20.
    expect(started).toEqual(["h0", "h1", "h2", "low"]);
  });

  it("counts waiting tasks of every client, in total and by kind", () => {
    const q = new FairQueue(1, 0);
    const { task } = recorder();
    q.add("a", task("a0"), { client: "A" });
    const b = task("b1");
    q.add("a", task("a1"), { client: "A" });
    q.add("a", b, { client: "B" });
    q.add("c", task("c1"), { client: "B", priority: 2 });
    expect(q.waitingTotal).toBe(3);
    expect(q.clients).toBe(2);
    expect(q.waiting()).toEqual(
      new Map([
        ["a", 2],
        ["c", 1],
      ]),
    );
    b.dropped = true;
    q.done("a");
    q.done("a");
    q.done("a");
    expect(q.waitingTotal).toBe(0);
    expect(q.waiting()).toEqual(new Map());
  });
});
