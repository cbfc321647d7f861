import { describe, expect, it } from "vitest";
import { ConnectionTable } from "./connection-table.js";

/** A table with a fake clock; each admitted connection records whether it was evicted. */
function table(maxConnections: number, maxConnectionsPerAddress = maxConnections) {
  let now = 0;
  const t = new ConnectionTable({ maxConnections, maxConnectionsPerAddress }, () => now);
  const evicted: string[] = [];
  const open = (key: string, address = "10.0.0.1") => t.admit(key, address, () => evicted.push(key));
  return { t, evicted, open, tick: (ms: number) => (now += ms) };
}

describe("the connections a server holds, and which goes to make room", () => {
  it("evicts a silent one first, then an unproven one, then the longest idle, oldest first", () => {
    const { t, evicted, open, tick } = table(4);
    open("proven-a");
    open("proven-b");
    open("unproven");
    open("silent");
    const endA = t.callStarted("proven-a", { proven: true, health: false });
    t.callStarted("proven-b", { proven: true, health: false })();
    tick(10);
    endA();
    t.prefaced("unproven");
    expect(open("new-1")).toBeDefined();
    expect(open("new-2")).toBeDefined();
    // new-1 took the silent one's place; new-2 is silent, but new-1 was older and unproven too.
    expect(evicted).toEqual(["silent", "new-1"]);
    t.prefaced("new-2");
    open("new-3");
    open("new-4");
    // new-3 took the oldest unproven one's place, new-4 the silent new-3's.
    expect(evicted).toEqual(["silent", "new-1", "unproven", "new-3"]);
    t.prefaced("new-4");
    t.callStarted("new-2", { proven: true, health: false });
    t.callStarted("new-4", { proven: true, health: false });
    open("new-5");
    // All left are proven or busy: the one idle longest goes (b's call ended first).
    expect(evicted.at(-1)).toBe("proven-b");
    expect(t.size).toBe(4);
  });

  it("never evicts a busy connection: with every one busy the new one is refused", () => {
    const { t, evicted, open } = table(2);
    open("a");
    open("b");
    t.callStarted("a", { proven: true, health: false });
    t.callStarted("b", { proven: false, health: false });
    expect(open("c")).toBeUndefined();
    expect(evicted).toEqual([]);
    expect(t.refused).toBe(1);
  });

  it("does not count a health call (a Watch, a stalled Check) as work: its connection stays evictable", () => {
    const { t, evicted, open } = table(1);
    open("watcher");
    t.callStarted("watcher", { proven: false, health: true });
    expect(open("client")).toBeDefined();
    expect(evicted).toEqual(["watcher"]);
  });

  it("caps the connections of one address, making room among that address's own", () => {
    const { t, evicted, open } = table(100, 2);
    open("a1", "10.0.0.1");
    open("b1", "10.0.0.2");
    open("a2", "10.0.0.1");
    open("a3", "10.0.0.1");
    expect(evicted).toEqual(["a1"]);
    t.callStarted("a2", { proven: true, health: false });
    t.callStarted("a3", { proven: true, health: false });
    expect(open("a4", "10.0.0.1")).toBeUndefined();
    expect(open("b2", "10.0.0.2")).toBeDefined();
  });

  it("lists the connections whose only calls are health calls, idle past a time", () => {
    const { t, open, tick } = table(10);
    open("watch-only");
    open("busy");
    t.callStarted("watch-only", { proven: false, health: true });
    t.callStarted("busy", { proven: true, health: false });
    t.callStarted("busy", { proven: false, health: true });
    tick(100);
    expect(t.healthOnlyIdleSince(50).map((c) => c.key)).toEqual(["watch-only"]);
    expect(t.healthOnlyIdleSince(-1)).toEqual([]);
  });

  it("forgets a connection once removed, and a removed one's key reused stays counted", () => {
    const { t, open } = table(10);
    const first = open("k")!;
    const second = open("k")!;
    first.remove();
    expect(t.size).toBe(1);
    second.remove();
    second.remove();
    expect(t.size).toBe(0);
  });
});
