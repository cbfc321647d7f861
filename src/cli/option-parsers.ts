import { readFile } from "node:fs/promises";
import { type Command, InvalidArgumentError } from "commander";
import { parseColumnList } from "../csv/column-selection.js";
import { defaultDialect, type TableDialect, tableDialect } from "../csv/read-options.js";
import { parseSplit, type SplitMode } from "../lesson/client/split-plan.js";
import { readStdin } from "../lesson/client/table-input.js";
import { parseLabel } from "../rpc/server-labels.js";
import { readFailure } from "./output.js";
import { UsageError } from "./run-program.js";

/** Collects a repeatable option's values. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Commander value parsers: each refuses bad input in words, which commander turns into exit 2. */
export function integerIn(min: number, max: number) {
  return (value: string): number => {
    // A sign is allowed where the range has negatives (--priority -1); the range says the rest.
    if (!/^-?\d+$/.test(value.trim()))
      throw new InvalidArgumentError(`expected a whole number, got "${value}"`);
    const n = Number(value);
    if (n < min || n > max)
      throw new InvalidArgumentError(`expected a number from ${min} to ${max}, got ${n}`);
    return n;
  };
}

export const port = integerIn(0, 65535);

/**
 * A repeatable KEY=VALUE flag (`--label`, `--require`, `--prefer`) gathered into one record; a
 * bad key or a missing `=` is a usage error (exit 2) naming the flag.
 */
export function labelPairs(flag: string) {
  return (value: string, previous: Record<string, string> | undefined): Record<string, string> => {
    try {
      const [key, labelValue] = parseLabel(value);
      return { ...previous, [key]: labelValue };
    } catch (error) {
      throw new InvalidArgumentError(`${flag}: ${(error as Error).message}`);
    }
  };
}
export const positiveInteger = integerIn(1, 1_000_000);

export function finiteNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n))
    throw new InvalidArgumentError(`expected a number, got "${value}"`);
  return n;
}

const decimalNumber = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** "1,2,3" or "1..9" (whole steps) or a mix "1..3,7.5" into numbers; anything else is a usage error. */
export function parseRadii(value: string): number[] {
  const radii: number[] = [];
  for (const part of value.split(",").map((p) => p.trim())) {
    const range = /^(-?\d+)\.\.(-?\d+)$/.exec(part);
    if (range) {
      const from = Number(range[1]);
      const to = Number(range[2]);
      if (to < from) throw new UsageError(`--radii: empty range "${part}"`);
      if (to - from > 1_000_000) throw new UsageError(`--radii: range "${part}" is too long`);
      for (let r = from; r <= to; r++) radii.push(r);
      continue;
    }
    if (!decimalNumber.test(part)) {
      throw new UsageError(`--radii: "${part}" is not a number or a range like 1..9`);
    }
    // 1e400 matches the pattern but is Infinity: as --pi, a usage error, not the server's refusal.
    if (!Number.isFinite(Number(part))) {
      throw new UsageError(`--radii: "${part}" is beyond the largest number (about 1.8e308)`);
    }
    radii.push(Number(part));
  }
  return radii;
}

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
    const huge = list.findIndex((x) => !Number.isFinite(x)); // 1e400 parses as Infinity
    if (huge >= 0)
      throw new UsageError(
        `--lists: item ${i + 1}, number ${huge + 1} is beyond the largest number (about 1.8e308)`,
      );
    return list as number[];
  });
}

/** --split auto|none|SIZE, a usage error otherwise. */
export function splitMode(value: string | undefined): SplitMode {
  const mode = parseSplit(value ?? "auto");
  if (!mode) throw new UsageError(`--split must be auto, none or a size like 64MB, not "${value}"`);
  return mode;
}

/** The table flags as commander hands them over (see `tableFlags`). */
export interface TableFlags {
  delimiter?: string;
  decimal?: string;
  header?: boolean;
  /** --columns as typed: "NAME|N,...". */
  columns?: string;
}

/**
 * The table flags, declared once for every command that reads tables (column-sums,
 * weighted-means, accumulate, submit ...): how a CSV table is read (docs/csv-rules.md).
 */
export function tableFlags(command: Command): Command {
  return command
    .option("--delimiter <c>", 'cell delimiter: one character, or "tab"', defaultDialect.delimiter)
    .option("--decimal <c>", 'decimal separator: "." or ","', defaultDialect.decimal)
    .option("--header", "the first non-blank line of each file is a header: skip it")
    .option(
      "--columns <list>",
      "only these columns, in this order: 1-based numbers or (with --header) header names, comma-separated",
    );
}

/** The table flags as the client sends them, checked here so a typo is a usage error. */
export function tableReadOptions(options: TableFlags): TableDialect {
  try {
    return tableDialect({
      delimiter: options.delimiter,
      decimal: options.decimal,
      header: options.header,
      columns: options.columns === undefined ? [] : parseColumnList(options.columns),
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * Weights from a file (`-`: standard input; a pipe or a process substitution alike): a JSON array
 * of numbers, or one number a line (blank lines skipped).
 */
export async function readWeights(path: string): Promise<number[]> {
  let text: string;
  try {
    text = path === "-" ? Buffer.concat(await readStdin()).toString("utf8") : await readFile(path, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read --weights ${path}: ${readFailure(error)}`);
  }
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new UsageError(`--weights: ${path} is not valid JSON: ${(error as Error).message}`);
    }
    if (!Array.isArray(parsed) || !parsed.every((w) => typeof w === "number" && Number.isFinite(w))) {
      throw new UsageError(`--weights: ${path} must be a JSON array of numbers`);
    }
    return parsed;
  }
  const weights: number[] = [];
  trimmed.split(/\r?\n/).forEach((line, i) => {
    const cell = line.trim();
    if (cell === "") return;
    const w = Number(cell);
    if (!decimalNumber.test(cell) || !Number.isFinite(w)) {
      throw new UsageError(`--weights: ${path}, line ${i + 1}: "${cell}" is not a number`);
    }
    weights.push(w);
  });
  return weights;
}

/** A span of time like 500ms, 90s, 10m, 2h or 1d (a bare number is seconds), in milliseconds. */
export function duration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim());
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match?.[2] ?? "s"]!;
  const ms = match ? Math.round(Number(match[1]) * unit) : Number.NaN;
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new InvalidArgumentError(`expected a time like 90s, 10m, 2h or 1d, not "${value}"`);
  }
  return ms;
}
