import { describe, expect, it } from "vitest";
import { CallCoalescer, type CoalescedMethod, fullBatch } from "./call-coalescer.js";

/** A method whose round trips end when the test says: what went direct, what went in batches. */
function heldMethod(limit: number, least?: number) {
  const directs: Array<{ request: number; end: () => void }> = [];
  const batches: Array<{ requests: number[]; end: () => void }> = [];
  const method: CoalescedMethod<number, number> = {
    direct: (request) =>
      new Promise((resolve) => directs.push({ request, end: () => resolve(request * 10) })),
    batch: (requests) =>
      new Promise((resolve) =>
        batches.push({
          requests,
          end: () => resolve(requests.map((r) => ({ ok: true as const, value: r * 10 }))),
        }),
      ),
    limit: () => limit,
    ...(least === undefined ? {} : { least: () => least }),
  };
  return { method, directs, batches };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("CallCoalescer", () => {
  it("sends a call alone at once, as a plain call", async () => {
    const { method, directs, batches } = heldMethod(2);
    const coalescer = new CallCoalescer(method);
    const reply = coalescer.call(1);
    expect(directs.map((d) => d.request)).toEqual([1]);
    directs[0]!.end();
    expect(await reply).toBe(10);
    expect(batches).toEqual([]);
  });

  it("sends the calls of one turn together while one is in flight, not the first alone", async () => {
    const { method, directs, batches } = heldMethod(2);
    const coalescer = new CallCoalescer(method);
    const first = coalescer.call(0);
    const rest = Array.from({ length: 10 }, (_, i) => coalescer.call(i + 1));
    await turn();
    // The room left (one place) went to the ten as one batch; the first round trip has not ended.
    expect(directs.map((d) => d.request)).toEqual([0]);
    expect(batches.map((b) => b.requests)).toEqual([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]);
    directs[0]!.end();
    batches[0]!.end();
    expect(await first).toBe(0);
    expect(await Promise.all(rest)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  });

  it("splits what waits evenly over the free places", async () => {
    const { method, directs, batches } = heldMethod(3);
    const coalescer = new CallCoalescer(method);
    const first = coalescer.call(0);
    const rest = Array.from({ length: 9 }, (_, i) => coalescer.call(i + 1));
    await turn();
    expect(batches.map((b) => b.requests)).toEqual([
      [1, 2, 3, 4, 5],
      [6, 7, 8, 9],
    ]);
    directs[0]!.end();
    for (const batch of batches) batch.end();
    await Promise.all([first, ...rest]);
  });

  it("lets a waiting call leave with CANCELLED when its signal aborts, the others still go", async () => {
    const { method, directs, batches } = heldMethod(1);
    const coalescer = new CallCoalescer(method);
    const first = coalescer.call(0);
    const abort = new AbortController();
    const leaving = coalescer.call(1, abort.signal);
    const staying = coalescer.call(2);
    abort.abort();
    await expect(leaving).rejects.toMatchObject({ code: 1 });
    directs[0]!.end();
    await first;
    await turn();
    expect(directs.map((d) => d.request)).toEqual([0, 2]);
    directs[1]!.end();
    expect(await staying).toBe(20);
    expect(batches).toEqual([]);
  });

  it("opens round trips beyond `least` only for full batches: 64 calls on 2 places go as 2 x 32", async () => {
    const { method, directs, batches } = heldMethod(4, 2);
    const coalescer = new CallCoalescer(method);
    const first = coalescer.call(0);
    const rest = Array.from({ length: 2 * fullBatch - 1 }, (_, i) => coalescer.call(i + 1));
    await turn();
    // 64 outstanding make 2 places (not the 4 of the limit), each its even share: the direct call
    // and a batch of 32; the other 31 wait for a place rather than make a batch of 63 beside 1.
    expect(directs.map((d) => d.request)).toEqual([0]);
    expect(batches.map((b) => b.requests.length)).toEqual([fullBatch]);
    directs[0]!.end();
    await first;
    await turn();
    expect(batches.map((b) => b.requests.length)).toEqual([fullBatch, fullBatch - 1]);
    for (const batch of batches) batch.end();
    await Promise.all(rest);
    // Twice as many calls open all four places, each batch still full.
    const more = Array.from({ length: 4 * fullBatch }, (_, i) => coalescer.call(i));
    const sent = batches.length;
    await turn();
    expect(directs.length).toBe(2);
    // One goes alone (nothing in flight), 127 wait: 128 outstanding open all 4 places, 32 each.
    expect(batches.slice(sent).map((b) => b.requests.length)).toEqual([fullBatch, fullBatch, fullBatch]);
    // The lone call comes back and its caller calls again: 128 outstanding again, the fourth place.
    directs[1]!.end();
    await more[0];
    more.push(coalescer.call(-1));
    await turn();
    expect(batches.slice(sent).map((b) => b.requests.length)).toEqual([
      fullBatch,
      fullBatch,
      fullBatch,
      fullBatch,
    ]);
    for (const d of directs.slice(1)) d.end();
    for (const b of batches.slice(sent)) b.end();
    await Promise.all(more);
  });
});
