import { describe, expect, it } from "vitest";
import {
  engineShares,
  engineSpan,
  partsInOrder,
  rateFittedPartSizes,
  speedsDiffer,
} from "./rate-fitted-split.js";

const MB = 1 << 20;

/** What the plan gives each server as the engine runs it, and its span over the ideal (total bytes over summed speeds). */
function planned(sizes: number[], speeds: number[]) {
  const cut = rateFittedPartSizes(sizes, speeds);
  const parts = partsInOrder(sizes, cut);
  const total = sizes.reduce((a, b) => a + b, 0);
  const all = speeds.reduce((a, b) => a + b, 0);
  const { span, bytes } = engineShares(parts, speeds);
  return {
    cut,
    parts: parts.length,
    overIdeal: span / (total / all),
    // Each server's bytes over its fair share (total x its speed over all speeds).
    ofShare: bytes.map((b, i) => b / ((total * speeds[i]!) / all)),
  };
}

describe("rateFittedPartSizes", () => {
  it("cuts one big file so a server four times faster gets about four fifths", () => {
    const plan = planned([420 * MB], [4, 1]);
    expect(plan.cut[0]).toBeDefined();
    expect(plan.overIdeal).toBeLessThan(1.08);
    for (const share of plan.ofShare) expect(Math.abs(share - 1)).toBeLessThan(0.2);
    // Sent whole, it would take as long as the fast server alone: 25% over the ideal.
    expect(engineSpan([420 * MB], [4, 1]) / ((420 * MB) / 5)).toBeGreaterThan(1.2);
  });

  it("cuts four equal files so that the slow server at speeds 4 : 1 runs about its share", () => {
    // The bench's case: 4 files of 48 MB, rates 54 and 12 MB/s.
    for (const [size, speeds] of [
      [48e6, [54, 12]],
      [105 * MB, [4, 1]],
      [20 * MB, [4, 1]],
    ] as const) {
      const sizes = Array(4).fill(size);
      const plan = planned(sizes, [...speeds]);
      // Cut, and the last file (the tail of the queue) finer than halves.
      expect(plan.parts).toBeGreaterThan(4);
      expect(plan.cut[3]).toBeLessThanOrEqual(size / 2);
      expect(plan.overIdeal).toBeLessThan(1.2);
      // The slow server runs within 25% of its fair share of the bytes (not with 20 MB files:
      // with no part under 8 MiB it gets one part of 10, its share being 16).
      if (size > 20 * MB) expect(Math.abs(plan.ofShare[1]! - 1)).toBeLessThan(0.25);
    }
    // Whole, the fast server runs all four (the slow one would end last with any): 25% over.
    expect(engineSpan(Array(4).fill(48e6), [54, 12]) / ((4 * 48e6) / 66)).toBeGreaterThan(1.2);
    // The bench's case in figures: within 8% of the ideal (it was 9% with equal parts for all files).
    expect(planned(Array(4).fill(48e6), [54, 12]).overIdeal).toBeLessThan(1.08);
  });

  it("cuts the tail finer: parts never grow along the queue", () => {
    for (const speeds of [
      [4, 1],
      [54, 12],
      [3, 1, 1],
    ]) {
      const sizes = Array(6).fill(60 * MB);
      const parts = partsInOrder(sizes, rateFittedPartSizes(sizes, speeds));
      expect(engineSpan(parts, speeds) / ((360 * MB) / speeds.reduce((a, b) => a + b))).toBeLessThan(1.1);
      for (let i = 1; i < parts.length; i++) expect(parts[i]).toBeLessThanOrEqual(parts[i - 1]!);
    }
  });

  it("leaves small files whole, and makes no part under 8 MiB", () => {
    expect(rateFittedPartSizes(Array(40).fill(MB), [4, 1])).toEqual(Array(40).fill(undefined));
    const [part] = rateFittedPartSizes([40 * MB], [16, 1]);
    expect(part === undefined || part >= 8 * MB).toBe(true);
    for (const part of rateFittedPartSizes(Array(4).fill(48e6), [54, 12]))
      expect(part).toBeGreaterThanOrEqual(8 * MB);
  });

  it("with three servers of speeds 1, 2 and 4 stays within 10% of the ideal", () => {
    expect(planned([300 * MB, 120 * MB], [1, 2, 4]).overIdeal).toBeLessThan(1.1);
  });
});

describe("engineShares", () => {
  it("runs tasks in order on the free server, and leaves the tail to the faster one", () => {
    // Ten equal tasks at speeds 4 : 1: the slow one takes the first while the queue is long, none at the end.
    const { bytes } = engineShares(Array(10).fill(10 * MB), [4, 1]);
    expect(bytes[0]! + bytes[1]!).toBe(100 * MB);
    expect(bytes[1]).toBeGreaterThan(0);
    expect(bytes[1]).toBeLessThanOrEqual(20 * MB);
    // Equal speeds: half each.
    expect(engineShares(Array(10).fill(MB), [1, 1]).bytes).toEqual([5 * MB, 5 * MB]);
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
