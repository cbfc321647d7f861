import { describe, expect, it } from "vitest";
import { ReadBuffers } from "./read-buffers.js";

describe("ReadBuffers", () => {
  it("lends at most `most` buffers and lends a given-back one again, by any view of it", async () => {
    const buffers = new ReadBuffers(16, 2);
    const a = await buffers.take();
    const b = await buffers.take();
    expect(a).not.toBe(b);
    let third: Buffer | undefined;
    const waiting = buffers.take().then((buffer) => {
      third = buffer;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(third).toBeUndefined();
    buffers.give(a.subarray(0, 3));
    await waiting;
    expect(third).toBe(a);
    buffers.give(Buffer.alloc(16));
    buffers.give(undefined);
  });

  it("makes a reader wait no more once closed", async () => {
    const buffers = new ReadBuffers(16, 1);
    await buffers.take();
    const waiting = buffers.take();
    buffers.close();
    expect((await waiting).byteLength).toBe(16);
    expect((await buffers.take()).byteLength).toBe(16);
  });
});
