import { RefusedInput } from "./refused-input.js";

/**
 * Circle lengths 2*pi*r and areas pi*r^2, evaluated as the lesson's Python does ((2*pi)*r and
 * pi*(r**2)), so that with its pi = 3.1415927 the printed values come out exactly.
 */
export function circles(radii: readonly number[], pi = Math.PI): { lengths: number[]; areas: number[] } {
  if (!Number.isFinite(pi) || pi <= 0)
    throw new RefusedInput(`pi must be a positive finite number, not ${pi}`);
  radii.forEach((r, i) => {
    if (!Number.isFinite(r) || r < 0) {
      throw new RefusedInput(`radius ${i + 1} is ${r}: a radius must be a finite number, not negative`);
    }
  });
  return {
    lengths: radii.map((r) => 2 * pi * r),
    areas: radii.map((r) => pi * r ** 2),
  };
}
