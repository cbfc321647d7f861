import { exactQuotient } from "../../exact/exact-quotient.js";
import { ExactSum } from "../../exact/exact-sum.js";
import { RefusedInput } from "./refused-input.js";

/**
 * The mean of each list as Python's statistics.mean gives it: the exact sum over the count,
 * rounded once. [0.1, 0.2, 0.3] has mean 0.2, and [1e308, 1e308] has mean 1e308 though its sum is
 * beyond float64. An empty list has no mean.
 */
export function meansOfLists(lists: readonly (readonly number[])[]): number[] {
  return lists.map((list, i) => {
    if (list.length === 0) throw new RefusedInput(`list ${i + 1} is empty: it has no mean`);
    list.forEach((x, j) => {
      if (!Number.isFinite(x))
        throw new RefusedInput(`list ${i + 1}, item ${j + 1} is ${x}, not a finite number`);
    });
    // A mean lies between the list's least and greatest items, so it is never beyond float64.
    return exactQuotient(ExactSum.of(list), list.length);
  });
}
