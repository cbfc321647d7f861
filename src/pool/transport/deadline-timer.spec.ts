import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { deadlineTimer } from "./deadline-timer.js";

// Node's timers overflow past 2^31-1 ms (24.8 days): one timer set for longer fires at once, and
// one clamped to the maximum fires early. A deadline that far away is waited for in steps.
describe("deadlineTimer", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("fires at a deadline beyond 2^31-1 ms, not before", () => {
    const expire = vi.fn();
    deadlineTimer(Date.now() + 2 ** 31 + 60_000, expire);
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(expire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(59_000);
    expect(expire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(2_000);
    expect(expire).toHaveBeenCalledOnce();
  });

  it("fires from a timer (not at once) for a deadline already past, and never for Infinity", () => {
    const past = vi.fn();
    const never = vi.fn();
    deadlineTimer(Date.now() - 5, past);
    deadlineTimer(Number.POSITIVE_INFINITY, never);
    expect(past).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(past).toHaveBeenCalledOnce();
    vi.advanceTimersByTime(2 ** 40);
    expect(never).not.toHaveBeenCalled();
  });

  it("is cancelled", () => {
    const expire = vi.fn();
    const cancel = deadlineTimer(Date.now() + 1000, expire);
    cancel();
    vi.advanceTimersByTime(2000);
    expect(expire).not.toHaveBeenCalled();
  });
});
