import { exactQuotient } from "../../exact/exact-quotient.js";
import { ExactSum } from "../../exact/exact-sum.js";
import { Float64Overflow } from "../../exact/refusals.js";

// The lesson's small computations: circles, means of lists and the CPU-bound demo's count, and
// the refusal they share.

/**
 * A computation's refusal of its input (a negative radius, an empty list): the caller's mistake,
 * said in words, not a bug. The lesson's services send it as INVALID_ARGUMENT with this message;
 * any other error out of a computation is a bug (INTERNAL). A RangeError, as the language's own
 * refusals of a value out of range are.
 */
export class RefusedInput extends RangeError {
  override name = "RefusedInput";
}

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

/**
 * The mean of each list as Python's statistics.mean gives it: the exact sum over the count,
 * rounded once. [0.1, 0.2, 0.3] has mean 0.2, and [1e308, 1e308] has mean 1e308 though its sum is
 * beyond float64. An empty list has no mean.
 */
export function meansOfLists(lists: readonly (readonly number[])[]): number[] {
  return lists.map((list, i) => meanOfList(list, i));
}

/**
 * The mean of one list, the `index`th (from 0, for the refusal's words). `sum` is scratch space,
 * cleared first: a caller averaging many short lists passes one and allocates nothing per list.
 */
export function meanOfList(list: ArrayLike<number>, index: number, sum = new ExactSum()): number {
  if (list.length === 0) throw new RefusedInput(`list ${index + 1} is empty: it has no mean`);
  sum.clear();
  for (let j = 0; j < list.length; j++) {
    const x = list[j]!;
    if (!Number.isFinite(x))
      throw new RefusedInput(`list ${index + 1}, item ${j + 1} is ${x}, not a finite number`);
    sum.add(x);
  }
  // A mean lies between the list's least and greatest items, so it is never beyond float64.
  return exactQuotient(sum, list.length);
}

/** The lesson's CPU-bound demo: count to `iterations` in a loop; the count is returned so it must run. */
export function spin(iterations: number): number {
  let count = 0;
  while (count < iterations) count++;
  return count;
}
