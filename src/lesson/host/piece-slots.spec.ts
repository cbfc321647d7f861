import { describe, expect, it } from "vitest";
import { PieceSlots } from "./piece-slots.js";

describe("PieceSlots", () => {
  it("lends shared memory, reuses it, and makes a taker wait while every slot is lent", async () => {
    const slots = new PieceSlots(1024, 2);
    const a = await slots.take(100);
    const b = await slots.take(1024);
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect([a.byteLength, b.byteLength]).toEqual([100, 1024]);
    let third: Uint8Array | undefined;
    const waiting = slots.take(10).then((view) => {
      third = view;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(third).toBeUndefined();
    slots.give(a);
    await waiting;
    expect(third!.buffer).toBe(a.buffer);
    expect(slots.lent).toBe(2);
  });

  it("lends Buffers, whose indexOf and lastIndexOf search shared memory natively", async () => {
    const slots = new PieceSlots(1024, 1);
    const view = await slots.take(100);
    expect(Buffer.isBuffer(view)).toBe(true);
    expect(view.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(view.byteOffset).toBe(0);
  });

  it("gives a piece larger than a slot a buffer of its own, still counted", async () => {
    const slots = new PieceSlots(16, 1);
    const big = await slots.take(100);
    expect(big.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(slots.lent).toBe(1);
    slots.give(big);
    expect(slots.lent).toBe(0);
  });

  it("stops waiting when the call is cancelled", async () => {
    const slots = new PieceSlots(16, 1);
    await slots.take(1);
    const controller = new AbortController();
    const waiting = slots.take(1, controller.signal);
    controller.abort(new Error("cancelled"));
    await expect(waiting).rejects.toThrow("cancelled");
    expect(slots.lent).toBe(1);
  });

  it("counts a slot for a piece left in its message's memory, and marks only that memory movable", async () => {
    const slots = new PieceSlots(16, 1);
    const message = Buffer.allocUnsafeSlow(64);
    const piece = message.subarray(9, 40);
    await slots.lend(piece);
    expect(slots.lent).toBe(1);
    expect(slots.movable(piece)).toBe(true);
    expect(slots.movable(Buffer.allocUnsafeSlow(64))).toBe(false);
    // Every slot is lent: the next taker waits until the piece is given back.
    let taken = false;
    const waiting = slots.take(8).then(() => {
      taken = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(taken).toBe(false);
    slots.give(piece);
    await waiting;
    expect(slots.lent).toBe(1);
  });
});
