import { UsageError } from "./usage-error.js";

/** --lists '[[1,2,3],[5,2,7]]': a JSON array of arrays of numbers. */
export function parseLists(value: string): number[][] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new UsageError(`--lists is not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    throw new UsageError(
      "--lists must be a non-empty JSON array of arrays of numbers, like [[1,2,3],[5,2,7]]",
    );
  }
  return parsed.map((list, i) => {
    if (!Array.isArray(list) || !list.every((x) => typeof x === "number")) {
      throw new UsageError(`--lists: item ${i + 1} is not an array of numbers`);
    }
    return list as number[];
  });
}
