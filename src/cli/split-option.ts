import { parseSplit, type SplitMode } from "../client/split-plan.js";
import { UsageError } from "./usage-error.js";

/** --split auto|none|SIZE, a usage error otherwise. */
export function splitMode(value: string | undefined): SplitMode {
  const mode = parseSplit(value ?? "auto");
  if (!mode) throw new UsageError(`--split must be auto, none or a size like 64MB, not "${value}"`);
  return mode;
}
