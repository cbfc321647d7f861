import { describe, expect, it } from "vitest";
import { ServerError } from "../rpc/server-error.js";
import { ValueStore } from "./value-store.js";

const bytes = (n: number, fill = 1) => Buffer.alloc(n, fill);

function clock() {
  const state = { t: 1_000 };
  return { state, now: () => state.t };
}

describe("ValueStore", () => {
  it("keeps values by handle, once, with their owners", () => {
    const store = new ValueStore({ capacityBytes: 100 });
    expect(store.put("a", bytes(10), "p1")).toBe(true);
    expect(store.put("a", bytes(10), "p2")).toBe(false);
    expect(store.size).toBe(1);
    expect(store.bytes).toBe(10);
    // The value stays while one owner holds it.
    expect(store.drop("p1", ["a"])).toBe(0);
    expect(store.has("a")).toBe(true);
    expect(store.drop("p2")).toBe(1);
    expect(store.has("a")).toBe(false);
    store.close();
  });

  it("refuses a missing handle with VALUE_MISSING naming it", () => {
    const store = new ValueStore();
    let caught: unknown;
    try {
      store.get("f".repeat(64));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ServerError);
    expect((caught as ServerError).code).toBe(9);
    expect((caught as ServerError).errorDetails.errorInfo).toMatchObject({
      reason: "VALUE_MISSING",
      metadata: { handle: "f".repeat(64) },
    });
    expect(store.counters.misses).toBe(1);
    store.close();
  });

  it("evicts the least recently used to make room, and refuses a value larger than the store", () => {
    const store = new ValueStore({ capacityBytes: 30 });
    store.put("a", bytes(10), "p");
    store.put("b", bytes(10), "p");
    store.put("c", bytes(10), "p");
    store.get("a"); // a is now the most recent: b goes first
    store.put("d", bytes(10), "p");
    expect(["a", "b", "c", "d"].filter((h) => store.has(h))).toEqual(["a", "c", "d"]);
    expect(store.counters.evicted).toBe(1);
    expect(() => store.put("e", bytes(31), "p")).toThrow(
      /larger than this server's store \(--store-bytes 30\)/,
    );
    expect(store.bytes).toBe(30);
    store.close();
  });

  it("drops values idle for longer than idleMs", () => {
    const { state, now } = clock();
    const store = new ValueStore({ idleMs: 100, now });
    store.put("a", bytes(1), "p");
    store.put("b", bytes(1), "p");
    state.t += 60;
    store.get("b");
    state.t += 60;
    store.sweep();
    expect(store.has("a")).toBe(false);
    expect(store.has("b")).toBe(true);
    state.t += 101;
    expect(store.has("b")).toBe(false);
    expect(store.counters.expired).toBe(2);
    expect(store.bytes).toBe(0);
    store.close();
  });
});
