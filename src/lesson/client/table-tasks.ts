import { resolveColumns } from "../../csv/column-selection.js";
import { readOptionsFrom } from "../../csv/read-options.js";
import { Float64Overflow, ZeroDivisor } from "../../exact/refusals.js";
import type { Outcome } from "../../pool/outcome.js";
import { ClientError } from "../../rpc/client-error.js";
import { Status as status } from "../../rpc/grpc-status.js";
import { finishMeans, mergeExact, roundSums, weightCountMismatch } from "../compute/merge-pieces.js";
import { cutAtLines, tableHead } from "./line-cuts.js";
import { rateFittedPartSizes, speedsDiffer } from "./rate-fitted-split.js";
import { autoPartSizes, planSplit, type SplitMode } from "./split-plan.js";
import type { ColumnSumsResult, DivisorName, TablePart, WeightedMeansResult } from "./table-calls.js";
import { type InputSource, inspectInput, openLive, type TableReadOptions } from "./table-input.js";

/** One call's worth of a job over files: a whole file, or one row range of a split file. */
export interface TableTask {
  file: string;
  /** Position of the file in the job's input. */
  fileIndex: number;
  part?: TablePart;
  /** Data rows of the file before this part (for slicing weights). */
  rowsBefore: number;
  /** What the file was at planning (undefined for remote paths): each task reads it against this. */
  source?: InputSource;
  /** Bytes this task sends (0 when the server reads the file). */
  bytes: number;
}

export interface PlanOptions {
  split: SplitMode;
  /** Servers of the pool, for `auto` (see autoPartSizes). */
  servers: number;
  /** Their relative speeds (pool/server-rates.ts): when they differ, `auto` fits parts to them. */
  speeds?: readonly number[];
  /** How the tables are read (--columns names are looked up in a split file's header here). */
  read?: TableReadOptions;
  /** Files are on the servers: the client cannot cut them, so they go whole. */
  remote?: boolean;
  /** Count each part's rows and lines (weights are sliced by rows); else parts are cut unread. */
  countRows?: boolean;
  /**
   * Open what is not a regular file (`-`, a pipe) without reading it: its task's source is `live`,
   * read as it is sent or cut as it is read (stream-parts.ts). Else it is read whole here.
   */
  live?: boolean;
}

/**
 * Expands files into tasks: files large enough (or all, with a SIZE) become one task per part.
 * Each local file is looked at once, here: a regular file's size, times and inode are noted for
 * its tasks to check; a pipe (or standard input, `-`) is read whole, never split, or with `live`
 * only opened: the job cuts it as it reads it (see table-job.ts).
 */
export async function planTableTasks(files: string[], options: PlanOptions): Promise<TableTask[]> {
  if (options.remote) return files.map((file, fileIndex) => ({ file, fileIndex, rowsBefore: 0, bytes: 0 }));
  // One at a time: each is opened (a job of thousands of files must not run out of descriptors).
  const sources: InputSource[] = [];
  for (const file of files) sources.push(await (options.live ? openLive(file) : inspectInput(file)));
  const sizes = sources.map((source) =>
    source.kind === "file" ? source.snapshot.size : source.kind === "stream" ? source.bytes : 0,
  );
  const partSizes = partSizesOf(sources, sizes, options);
  const tasks: TableTask[] = [];
  for (const [fileIndex, file] of files.entries()) {
    const source = sources[fileIndex]!;
    const size = sizes[fileIndex]!;
    const partBytes = partSizes[fileIndex];
    const parts = partBytes === undefined ? undefined : await partsOf(file, size, partBytes, options);
    if (!parts || parts.length < 2) {
      tasks.push({ file, fileIndex, rowsBefore: 0, source, bytes: size });
      continue;
    }
    let rowsBefore = 0;
    for (const part of parts) {
      tasks.push({ file, fileIndex, part, rowsBefore, source, bytes: part.end - part.start });
      rowsBefore += part.rows ?? 0;
    }
  }
  return tasks;
}

/** Part sizes per file: none for pipes (never cut) and with `none`; a SIZE for all; `auto` decides. */
function partSizesOf(
  sources: InputSource[],
  sizes: number[],
  options: PlanOptions,
): Array<number | undefined> {
  const { split } = options;
  if (split.kind === "none") return sizes.map(() => undefined);
  const cuttable = (i: number) => sources[i]!.kind === "file";
  if (split.kind === "size")
    return sizes.map((size, i) => (cuttable(i) && size > split.bytes ? split.bytes : undefined));
  const speeds = options.speeds;
  const auto =
    speeds && speeds.length === options.servers && speedsDiffer(speeds)
      ? rateFittedPartSizes(sizes, speeds)
      : autoPartSizes(sizes, options.servers);
  return auto.map((part, i) => (cuttable(i) ? part : undefined));
}

/**
 * A file's parts. Cut unread (cutAtLines) only when its head has no quote: a newline inside
 * quotes further on would then make a part end inside a quoted cell, which its server refuses
 * (docs/csv-rules.md); a file that quotes is read once to cut at rows' ends (planSplit). The parts
 * after the first get --columns as numbers, looked up in the header here.
 */
async function partsOf(
  file: string,
  size: number,
  partBytes: number,
  options: PlanOptions,
): Promise<TablePart[]> {
  const read = readOptionsFrom(options.read ?? {});
  const head = await tableHead(file, read);
  const parts =
    options.countRows || head.quoted
      ? await planSplit(file, { ...read, partBytes })
      : await cutAtLines(file, size, partBytes, read);
  if (parts.length > 1) {
    const numbers = selectedNumbers(options.read, head.header);
    // Not resolved here: the whole file goes to one server, which refuses it in words.
    if (numbers === undefined) return [];
    for (const part of parts) if (part.start > 0) part.select = numbers;
  }
  return parts;
}

/**
 * --columns as 1-based numbers, for the parts after the first (they have no header): [] without
 * --columns, undefined when the names are not in `header` (the first part's server says so).
 */
export function selectedNumbers(read: TableReadOptions | undefined, header: string[] | undefined) {
  const selectors = read?.columns ?? [];
  if (selectors.length === 0) return [];
  try {
    const names = readOptionsFrom(read ?? {}).header ? header : undefined;
    return resolveColumns(selectors, names).select.map((c) => String(c + 1));
  } catch {
    return undefined;
  }
}

/** The outcome of one file, its parts' outcomes merged. */
export type FileOutcome<R> = { ok: true; value: R } | { ok: false; error: ClientError };

/** Groups task outcomes by file, in input order. */
export function byFile<R>(files: string[], tasks: TableTask[], outcomes: Outcome<R>[]) {
  const groups = files.map(() => [] as Array<{ task: TableTask; outcome: Outcome<R> }>);
  tasks.forEach((task, i) => {
    groups[task.fileIndex]!.push({ task, outcome: outcomes[i]! });
  });
  return groups;
}

/**
 * A file's refusal is its earliest part's: parts are in file order. A part that ends inside a
 * quoted cell was cut unread (its file's head has no quote, see partsOf): said as such.
 */
function firstFailure<R>(group: Array<{ task: TableTask; outcome: Outcome<R> }>): ClientError | undefined {
  for (const [i, { task, outcome }] of group.entries()) {
    if (outcome.ok) continue;
    const error = outcome.error;
    if (
      i === group.length - 1 ||
      !task.part ||
      !/quote that opens this cell is not closed/.test(error.details)
    )
      return error;
    return new ClientError(
      error.code,
      `${error.details}; --split cut ${task.file} at byte ${task.part.end}, inside a quoted cell that holds a newline (its first rows have no quotes, so it was cut without reading it): give --split none`,
      { server: error.server, trailers: error.trailers, errorDetails: error.errorDetails },
    );
  }
  return undefined;
}

function servers<R>(group: Array<{ outcome: Outcome<R> }>): string {
  return [...new Set(group.map(({ outcome }) => (outcome.ok ? outcome.server : "")))].join(",");
}

function columnsOf(results: Array<{ rows: number; columns: number }>): number {
  return results.find((r) => r.rows > 0)?.columns ?? 0;
}

/** Merges a file's column-sum parts exactly: bit-identical to one server's sums of the whole file. */
export function mergeColumnSums(
  group: Array<{ task: TableTask; outcome: Outcome<ColumnSumsResult> }>,
): FileOutcome<ColumnSumsResult> {
  const error = firstFailure(group);
  if (error) return { ok: false, error };
  const results = group.map(({ outcome }) => (outcome as { value: ColumnSumsResult }).value);
  // A stream's only part (it ended where a part was cut) came back exact only: rounded here.
  if (results.length === 1 && !group[0]!.task.part) return { ok: true, value: results[0]! };
  const exact = mergeExact(results.map((r) => r.exact));
  const sums = refusingNumbers(group[0]!.task.file, () => roundSums(exact));
  if (!sums.ok) return sums;
  return {
    ok: true,
    value: {
      ...results[0]!,
      rows: results.reduce((n, r) => n + r.rows, 0),
      bytes: results.reduce((n, r) => n + r.bytes, 0),
      columns: columnsOf(results),
      sums: sums.value,
      exact,
      server: servers(group),
    },
  };
}

/** The weights a task gets: its rows' slice, padded with zeros where the file has more rows than weights. */
export function weightsFor(task: TableTask, weights: number[]): number[] {
  if (!task.part) return weights;
  const rows = task.part.rows ?? 0;
  const slice = weights.slice(task.rowsBefore, task.rowsBefore + rows);
  while (slice.length < rows) slice.push(0);
  return slice;
}

/** Merges a file's weighted parts: exact sums of w*x and of w, then one division per column. */
export function mergeWeightedMeans(
  group: Array<{ task: TableTask; outcome: Outcome<WeightedMeansResult> }>,
  weights: number[],
  divisor: DivisorName,
): FileOutcome<WeightedMeansResult> {
  const error = firstFailure(group);
  if (error) return { ok: false, error };
  const results = group.map(({ outcome }) => (outcome as { value: WeightedMeansResult }).value);
  if (results.length === 1) return { ok: true, value: results[0]! };
  const rows = results.reduce((n, r) => n + r.rows, 0);
  if (rows !== weights.length) {
    const file = group[0]!.task.file;
    return {
      ok: false,
      error: new ClientError(status.INVALID_ARGUMENT, weightCountMismatch(file, rows, weights.length)),
    };
  }
  const weightedSums = mergeExact(results.map((r) => r.weightedSums));
  const weightSum = mergeExact(results.map((r) => [r.weightSum]))[0]!;
  const file = group[0]!.task.file;
  const means = refusingNumbers(file, () => finishMeans(weightedSums, divisor === "rows" ? rows : weightSum));
  if (!means.ok) return means;
  return {
    ok: true,
    value: {
      ...results[0]!,
      rows,
      bytes: results.reduce((n, r) => n + r.bytes, 0),
      columns: columnsOf(results),
      means: means.value,
      weightedSums,
      weightSum,
      server: servers(group),
    },
  };
}

/** The exact computations' typed refusals as the statuses a server gives them, naming the file. */
function refusingNumbers<T>(file: string, compute: () => T): FileOutcome<T> {
  try {
    return { ok: true, value: compute() };
  } catch (error) {
    if (error instanceof Float64Overflow)
      return { ok: false, error: new ClientError(status.OUT_OF_RANGE, `${file}: ${error.message}`) };
    if (error instanceof ZeroDivisor)
      return { ok: false, error: new ClientError(status.INVALID_ARGUMENT, `${file}: ${error.message}`) };
    throw error;
  }
}
