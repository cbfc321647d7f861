import { describe, expect, it } from "vitest";
import { delay } from "./queue-commands.js";

describe("--delay and --every", () => {
  it("reads a --delay as milliseconds, or a time with its unit", () => {
    expect(delay("2000")).toBe(2000);
    expect(delay("2s")).toBe(2000);
    expect(delay("5m")).toBe(300_000);
    expect(delay("1.5h")).toBe(5_400_000);
    expect(delay("0")).toBe(0);
    for (const wrong of ["", "-1", "2 weeks", "1e3"]) expect(() => delay(wrong)).toThrow(/not "/);
  });
});
