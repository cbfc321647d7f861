import { Float64Overflow } from "../../exact/refusals.js";
import { RefusedInput } from "./refused-input.js";

/**
 * Circle lengths 2*pi*r and areas pi*r^2, evaluated as the lesson's Python does ((2*pi)*r and
 * pi*(r**2)), so that with its pi = 3.1415927 the printed values come out exactly. A length or
 * area beyond float64 is refused (Float64Overflow) rather than answered as Infinity, which JSON
 * prints as null; Python too raises on r**2 beyond range.
 */
export function circles(radii: readonly number[], pi = Math.PI): { lengths: number[]; areas: number[] } {
  if (!Number.isFinite(pi) || pi <= 0)
    throw new RefusedInput(`pi must be a positive finite number, not ${pi}`);
  if (!Number.isFinite(2 * pi)) throw new Float64Overflow(`pi is ${pi}: 2*pi is beyond float64 range`);
  radii.forEach((r, i) => {
    if (!Number.isFinite(r) || r < 0) {
      throw new RefusedInput(`radius ${i + 1} is ${r}: a radius must be a finite number, not negative`);
    }
  });
  const lengths = radii.map((r) => 2 * pi * r);
  const areas = radii.map((r) => pi * r ** 2);
  radii.forEach((r, i) => {
    const what = !Number.isFinite(lengths[i]!)
      ? "length 2*pi*r"
      : !Number.isFinite(areas[i]!)
        ? "area pi*r^2"
        : "";
    if (what) throw new Float64Overflow(`radius ${i + 1} is ${r}: its ${what} is beyond float64 range`);
  });
  return { lengths, areas };
}
