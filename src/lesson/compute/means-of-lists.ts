import { ExactSum } from "../../exact/exact-sum.js";
import { RefusedInput } from "./refused-input.js";

/** The mean of each list: correctly rounded sum over the count. An empty list has no mean. */
export function meansOfLists(lists: readonly (readonly number[])[]): number[] {
  return lists.map((list, i) => {
    if (list.length === 0) throw new RefusedInput(`list ${i + 1} is empty: it has no mean`);
    list.forEach((x, j) => {
      if (!Number.isFinite(x))
        throw new RefusedInput(`list ${i + 1}, item ${j + 1} is ${x}, not a finite number`);
    });
    return ExactSum.of(list).value() / list.length;
  });
}
