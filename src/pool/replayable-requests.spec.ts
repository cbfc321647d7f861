import { describe, expect, it } from "vitest";
import { ReplayableRequests } from "./replayable-requests.js";

async function* once<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

async function take<T>(iterator: AsyncIterator<T>, n: number): Promise<T[]> {
  const taken: T[] = [];
  for (let i = 0; i < n; i++) {
    const next = await iterator.next();
    if (next.done) break;
    taken.push(next.value);
  }
  return taken;
}

describe("ReplayableRequests", () => {
  it("gives a second attempt every request the first read, then the rest of a one-shot source", async () => {
    const requests = new ReplayableRequests(once([1, 2, 3, 4]), true);
    expect(await take(requests.attempt(), 2)).toEqual([1, 2]);
    expect(await take(requests.attempt(), 10)).toEqual([1, 2, 3, 4]);
  });

  it("shares a read a failed attempt still waits on: the next attempt loses no request", async () => {
    let release!: (value: IteratorResult<number>) => void;
    const source: AsyncIterator<number> & AsyncIterable<number> = {
      next: () => new Promise((resolve) => (release = resolve)),
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    const requests = new ReplayableRequests(source, true);
    const stale = requests.attempt();
    const staleRead = stale.next();
    const fresh = requests.attempt();
    const freshRead = fresh.next();
    release({ done: false, value: 7 });
    expect((await staleRead).value).toBe(7);
    expect((await freshRead).value).toBe(7);
  });

  it("keeps nothing once released, and nothing at all when told not to keep", async () => {
    const requests = new ReplayableRequests(once([1, 2, 3]), true);
    const first = requests.attempt();
    expect(await take(first, 1)).toEqual([1]);
    requests.release();
    expect(await take(first, 10)).toEqual([2, 3]);

    const unkept = new ReplayableRequests([1, 2, 3], false);
    expect(await take(unkept.attempt(), 2)).toEqual([1, 2]);
    expect(await take(unkept.attempt(), 10)).toEqual([3]);
  });

  it("stops keeping past its limit: memory stays bounded, and it says so", async () => {
    const requests = new ReplayableRequests(once([1, 2, 3, 4, 5]), true, 2);
    const first = requests.attempt();
    expect(await take(first, 2)).toEqual([1, 2]);
    expect(requests.keeping).toBe(true);
    expect(await take(first, 1)).toEqual([3]);
    expect(requests.keeping).toBe(false);
    expect(await take(first, 10)).toEqual([4, 5]);
  });
});
