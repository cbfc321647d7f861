import { describe, expect, it } from "vitest";
import { bullPriority } from "./job-queue.js";

/** --priority to BullMQ's lower-first priority. */
describe("job priorities", () => {
  it("maps higher-first priorities to BullMQ's lower-first ones, from 1", () => {
    expect(bullPriority(1000)).toBe(1);
    expect(bullPriority()).toBe(1001);
    expect(bullPriority(-1000)).toBe(2001);
    expect(bullPriority(5)).toBeLessThan(bullPriority(4));
    for (const wrong of [1001, -1001, 1.5, Number.NaN])
      expect(() => bullPriority(wrong)).toThrow(/priority is an integer from -1000 to 1000/);
  });
});
