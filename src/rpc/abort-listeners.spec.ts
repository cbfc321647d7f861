import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { onAbort } from "./abort-listeners.js";

describe("onAbort", () => {
  it("hangs one listener on a signal however many wait, and takes it off with the last", () => {
    const controller = new AbortController();
    const offs = Array.from({ length: 50 }, () => onAbort(controller.signal, () => {}));
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    for (const off of offs.slice(1)) off();
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    offs[0]!();
    offs[0]!(); // twice is harmless
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
    // A new waiter after that gets a new listener.
    const off = onAbort(controller.signal, () => {});
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    off();
  });

  it("calls every waiter still hooked when the signal aborts, once, and the same function twice", () => {
    const controller = new AbortController();
    const calls: string[] = [];
    const twice = () => calls.push("twice");
    onAbort(controller.signal, twice);
    onAbort(controller.signal, twice);
    const off = onAbort(controller.signal, () => calls.push("unhooked"));
    onAbort(controller.signal, () => calls.push("kept"));
    off();
    controller.abort();
    controller.abort();
    expect(calls.sort()).toEqual(["kept", "twice", "twice"]);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
  });
});
