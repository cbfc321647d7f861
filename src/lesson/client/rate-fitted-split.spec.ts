import { describe, expect, it } from "vitest";
import { fittedSpan, rateFittedPartSizes, speedsDiffer } from "./rate-fitted-split.js";

const MB = 1 << 20;

/** The parts a file of `size` becomes with part size `part` (as planTableTasks cuts: equal parts). */
const partsOf = (size: number, part: number | undefined) =>
  part === undefined ? [size] : Array(Math.ceil(size / part)).fill(size / Math.ceil(size / part));

/** The plan's span over the ideal one (total bytes over summed speeds). */
function overIdeal(sizes: number[], speeds: number[]): number {
  const cut = rateFittedPartSizes(sizes, speeds);
  const tasks = sizes.flatMap((size, i) => partsOf(size, cut[i]));
  const ideal = sizes.reduce((a, b) => a + b, 0) / speeds.reduce((a, b) => a + b, 0);
  return fittedSpan(tasks, speeds) / ideal;
}

describe("rateFittedPartSizes", () => {
  it("cuts one big file so a server four times faster gets about four fifths", () => {
    const [part] = rateFittedPartSizes([420 * MB], [4, 1]);
    expect(part).toBeDefined();
    expect(overIdeal([420 * MB], [4, 1])).toBeLessThan(1.1);
    // Sent whole, it would take as long as the fast server alone: 25% over the ideal.
    expect(fittedSpan([420 * MB], [4, 1]) / ((420 * MB) / 5)).toBeGreaterThan(1.2);
  });

  it("cuts four equal files when one server is four times the other (whole, they would end 25% late)", () => {
    const sizes = Array(4).fill(105 * MB);
    expect(rateFittedPartSizes(sizes, [4, 1]).every((p) => p !== undefined)).toBe(true);
    expect(overIdeal(sizes, [4, 1])).toBeLessThan(1.1);
  });

  it("leaves small files whole, and makes no part under 8 MiB", () => {
    expect(rateFittedPartSizes(Array(40).fill(MB), [4, 1])).toEqual(Array(40).fill(undefined));
    const [part] = rateFittedPartSizes([40 * MB], [16, 1]);
    expect(part === undefined || part >= 8 * MB).toBe(true);
  });

  it("with three servers of speeds 1, 2 and 4 stays within 10% of the ideal", () => {
    expect(overIdeal([300 * MB, 120 * MB], [1, 2, 4])).toBeLessThan(1.1);
  });
});

describe("speedsDiffer", () => {
  it("only when the fastest is over 1.25 times the slowest", () => {
    expect(speedsDiffer([2, 2])).toBe(false);
    expect(speedsDiffer([1.2, 1])).toBe(false);
    expect(speedsDiffer([4, 1])).toBe(true);
    expect(speedsDiffer([4])).toBe(false);
  });
});
