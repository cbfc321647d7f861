import { describe, expect, it } from "vitest";
import { ServerError } from "../rpc/server-error.js";
import { entryOverheadBytes, maxOwnersPerValue, ownerOverheadBytes, ValueStore } from "./value-store.js";

const bytes = (n: number, fill = 1) => Buffer.alloc(n, fill);

/** What a value of n bytes with one owner counts against the bound. */
const cost = (n: number, owner = "p") => n + entryOverheadBytes + ownerOverheadBytes + 2 * owner.length;

function clock() {
  const state = { t: 1_000 };
  return { state, now: () => state.t };
}

function refusal(run: () => unknown): ServerError {
  try {
    run();
  } catch (error) {
    return error as ServerError;
  }
  throw new Error("expected a refusal");
}

describe("ValueStore", () => {
  it("keeps values by handle, once, with their owners", () => {
    const store = new ValueStore({ capacityBytes: 100_000 });
    expect(store.put("a", bytes(10), "p1")).toBe(true);
    expect(store.put("a", bytes(10), "p2")).toBe(false);
    expect(store.size).toBe(1);
    expect(store.valueBytes).toBe(10);
    expect(store.bytes).toBe(cost(10, "p1") + ownerOverheadBytes + 4);
    // The value stays while one owner holds it.
    expect(store.drop("p1", ["a"])).toBe(0);
    expect(store.has("a")).toBe(true);
    expect(store.bytes).toBe(cost(10, "p2"));
    expect(store.drop("p2")).toBe(1);
    expect(store.has("a")).toBe(false);
    expect(store.bytes).toBe(0);
    store.close();
  });

  it("refuses a missing handle with VALUE_MISSING naming it", () => {
    const store = new ValueStore();
    const caught = refusal(() => store.get("f".repeat(64)));
    expect(caught).toBeInstanceOf(ServerError);
    expect(caught.code).toBe(9);
    expect(caught.errorDetails.errorInfo).toMatchObject({
      reason: "VALUE_MISSING",
      metadata: { handle: "f".repeat(64) },
    });
    expect(store.counters.misses).toBe(1);
    store.close();
  });

  it("evicts the least recently used to make room, and refuses a value larger than the store", () => {
    const store = new ValueStore({ capacityBytes: 3 * cost(10), keptShare: 0 });
    store.put("a", bytes(10), "p");
    store.put("b", bytes(10), "p");
    store.put("c", bytes(10), "p");
    store.get("a"); // a is now the most recent: b goes first
    store.put("d", bytes(10), "p");
    expect(["a", "b", "c", "d"].filter((h) => store.has(h))).toEqual(["a", "c", "d"]);
    expect(store.counters.evicted).toBe(1);
    expect(() => store.put("e", bytes(3 * cost(10)), "p")).toThrow(/larger than this server's store/);
    expect(store.bytes).toBe(3 * cost(10));
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

  // Issue 17: 200,000 small values grew a server by 396 MiB while 9.4 MB were counted.
  it("counts each value's bookkeeping, so many tiny values fill the store by their real cost", () => {
    const store = new ValueStore({ capacityBytes: 1 << 20 });
    for (let i = 0; i < 2_000; i++) store.put(`v${i}`, bytes(1, i), "p");
    expect(store.bytes).toBeLessThanOrEqual(1 << 20);
    // Each value costs at least its overhead: the store holds far fewer than 2,000.
    expect(store.size).toBeLessThanOrEqual(Math.floor((1 << 20) / entryOverheadBytes));
    expect(store.counters.evicted).toBe(2_000 - store.size);
    store.close();
  });

  // Issue 17: 200 owners of 4 MiB each on one value grew a server by 843 MiB.
  it("counts owners and bounds how many one value has", () => {
    const store = new ValueStore({ capacityBytes: 1 << 30 });
    store.put("a", bytes(1), "o0");
    for (let i = 1; i < maxOwnersPerValue; i++) store.adopt("a", `o${i}`);
    expect(store.bytes).toBeGreaterThan(maxOwnersPerValue * ownerOverheadBytes);
    const caught = refusal(() => store.adopt("a", "one-too-many"));
    expect(caught.code).toBe(8);
    expect(caught.message).toMatch(/1024 owners/);
    store.close();
  });

  // Issue 17: Puts that never finish held 1,075 MiB while the store said 0 bytes.
  it("counts the bytes of values in transit, refuses them beyond the bound, and gives them back", () => {
    const store = new ValueStore({ capacityBytes: 100_000, keptShare: 0 });
    const first = store.reserve();
    first.grow(60_000);
    expect(store.transitBytes).toBe(60_000);
    expect(store.bytes).toBe(60_000);
    const second = store.reserve();
    const caught = refusal(() => second.grow(50_000));
    expect(caught.code).toBe(8);
    expect(caught.message).toMatch(/store is full \(--store-bytes 100000\): 60000 bytes of values arriving/);
    expect(store.counters.putsRefused).toBe(1);
    first.release();
    first.release();
    expect(store.bytes).toBe(0);
    // Values arriving make room by evicting values stored, as a new value does.
    store.put("a", bytes(50_000), "p");
    second.grow(50_000);
    expect(store.has("a")).toBe(false);
    // The value takes the place of its reservation.
    store.put("b", bytes(50_000), "p", { reservation: second });
    expect(store.transitBytes).toBe(0);
    expect(store.bytes).toBe(cost(50_000));
    store.close();
  });

  // Issue 17: a flood of Puts evicted results kept on the server, which exist nowhere else.
  it("keeps a share of the store for kept results that Puts cannot evict", () => {
    const store = new ValueStore({ capacityBytes: 40_000, keptShare: 0.5 });
    store.put("kept", bytes(10_000), "p", { kept: true });
    expect(store.keptBytes).toBe(cost(10_000));
    for (let i = 0; i < 20; i++) store.put(`flood${i}`, bytes(10_000, i), "attacker");
    expect(store.has("kept")).toBe(true);
    expect(store.bytes).toBeLessThanOrEqual(40_000);
    // A kept result may take the room of Puts and of older kept results.
    store.put("kept2", bytes(10_000, 2), "p", { kept: true });
    store.put("kept3", bytes(10_000, 3), "p", { kept: true });
    expect(store.has("kept")).toBe(true);
    // Beyond their share, kept results are evicted for Puts like any value (least recent first).
    for (let i = 20; i < 40; i++) store.put(`flood${i}`, bytes(10_000, i), "attacker");
    expect(store.keptBytes).toBeLessThanOrEqual(store.keptReserveBytes);
    expect(store.keptBytes).toBeGreaterThan(0);
    store.close();
  });
});
