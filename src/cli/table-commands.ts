import type { Command } from "commander";
import { type ColumnSumsTotal, columnSumsTotal } from "../lesson/client/column-sums-total.js";
import type { ColumnSumsResult, DivisorName, WeightedMeansResult } from "../lesson/client/table-calls.js";
import {
  columnSumsJob,
  type TableJobOptions,
  type TableJobResult,
  weightedMeansJob,
} from "../lesson/client/table-job.js";
import type { Pool } from "../pool/pool.js";
import { ClientError } from "../rpc/client-error.js";
import { Status } from "../rpc/grpc-status.js";
import { interruptedExitCode, onInterrupt } from "./interrupt.js";
import { readWeights, splitMode, type TableFlags, tableReadOptions } from "./option-parsers.js";
import {
  counted,
  type ErrorEntry,
  errorEntries,
  numberBlock,
  reportRetries,
  say,
  writeJson,
  writeText,
} from "./output.js";
import { type CommonOptions, poolFromOptions } from "./pool-from-options.js";
import { type JobProgress, jobProgress } from "./progress-display.js";
import { setExitCode, UsageError } from "./run-program.js";
import { sayErrorsWithHints } from "./table-hints.js";
import { noteTerminalStdin } from "./terminal-stdin.js";

export interface TableCommandOptions extends CommonOptions, TableFlags {
  split?: string;
  remotePaths?: boolean;
}

export interface ColumnSumsOptions extends TableCommandOptions {
  /** Also the exact column sums over all files together. */
  total?: boolean;
}

export interface WeightedMeansOptions extends TableCommandOptions {
  weights: string;
  divisor: DivisorName;
}

/** Standard input can be read once: `-` may stand for one table, or for the weights, not more. */
export function checkStdin(files: string[], options: TableCommandOptions, weights?: string): void {
  const uses = files.filter((f) => f === "-").length + (weights === "-" ? 1 : 0);
  if (uses > 1) throw new UsageError("- (standard input) can be read once: give it for one input only");
  if (uses > 0 && options.remotePaths) {
    throw new UsageError("- (standard input) is on this machine: it cannot be a --remote-paths file");
  }
  if (uses > 0) noteTerminalStdin(weights === "-" ? "the weights" : "the table");
}

/**
 * The shape both table commands share: check the options, start or reach the pool, run the
 * job with progress bars and failover, report retries, and close the pool.
 */
async function tableJob<R>(
  options: TableCommandOptions,
  run: (pool: Pool, job: TableJobOptions) => Promise<TableJobResult<R>>,
): Promise<TableJobResult<R> & { interrupted: boolean }> {
  const read = tableReadOptions(options);
  const split = splitMode(options.split);
  const remote = options.remotePaths ?? false;
  if (remote && options.servers === undefined) {
    throw new UsageError("--remote-paths needs --servers: servers started with --data-root DIR");
  }
  // Ctrl-C from here on ends the job with what finished, printed, and exit 130.
  const interrupt = onInterrupt();
  let pool: Pool | undefined;
  let progress: JobProgress | undefined;
  try {
    pool = await poolFromOptions(options);
    const result = await run(pool, {
      read,
      split,
      remote,
      signal: interrupt.signal,
      onPlan: (tasks) => {
        progress = jobProgress(
          {
            files: new Set(tasks.map((t) => t.fileIndex)).size,
            fileOfTask: tasks.map((t) => t.fileIndex),
            totalBytes: tasks.reduce((n, t) => n + t.bytes, 0),
          },
          options,
        );
      },
      onEvent: (event) => progress?.onEvent(event),
      onBytes: (bytes) => progress?.onBytes(bytes),
    });
    progress?.stop();
    reportRetries(result.retried);
    return { ...result, interrupted: interrupt.signal.aborted };
  } finally {
    progress?.stop();
    await pool?.close();
    interrupt.dispose();
  }
}

/** A file's line of the text output; a table without data rows says so. */
function fileLine(r: {
  file: string;
  rows: number;
  columns: number;
  server: string;
  selected?: Array<string | number>;
}): string {
  const which = r.selected ? ` (${r.selected.join(", ")})` : "";
  return r.rows === 0
    ? `${r.file}: no data rows, on ${r.server}`
    : `${r.file}: ${counted(r.rows, "row")} x ${counted(r.columns, "column")}${which}, on ${r.server}`;
}

/**
 * With --columns, which columns a result holds (`selected` in the JSON): the header's names, or
 * without a header their 1-based numbers.
 */
function selected(
  result: { columnNames?: string[] },
  options: TableCommandOptions,
): { selected?: Array<string | number> } {
  const names = result.columnNames ?? [];
  if (names.length === 0) return {};
  return { selected: options.header ? names : names.map(Number) };
}

/** The errors in words on stderr, each refused table followed by what the person may have meant. */
async function reportErrors(
  files: string[],
  outcomes: Parameters<typeof errorEntries>[1],
  options: TableCommandOptions,
): Promise<ErrorEntry[]> {
  const errors = errorEntries(files, outcomes, { quiet: true });
  await sayErrorsWithHints(errors, tableReadOptions(options), options.remotePaths ?? false);
  return errors;
}

/**
 * The total over all files (--total): reduced on a server from the files' exact partials. Refused,
 * with the per-file results kept, when a file failed (a total without it would be wrong) or two
 * files have different widths.
 */
async function totalOf(
  pool: Pool,
  job: TableJobResult<ColumnSumsResult>,
): Promise<{ ok: true; value: ColumnSumsTotal } | { ok: false; error: ClientError }> {
  const failed = job.files.filter((o) => !o.ok).length;
  if (failed > 0) {
    return {
      ok: false,
      error: new ClientError(
        Status.FAILED_PRECONDITION,
        `no total: ${failed} of ${job.files.length} files have no column sums`,
      ),
    };
  }
  const results = job.files.flatMap((o) => (o.ok ? [o.value] : []));
  try {
    return { ok: true, value: await columnSumsTotal(pool, results) };
  } catch (error) {
    return { ok: false, error: ClientError.from(error) };
  }
}

export async function columnSumsCommand(files: string[], options: ColumnSumsOptions, command: Command) {
  checkStdin(files, options);
  let total: TotalOutcome | undefined;
  const job = await tableJob<ColumnSumsResult>(options, async (pool, jobOptions) => {
    const result = await columnSumsJob(pool, files, jobOptions);
    // On the job's own pool, before it closes.
    if (options.total) total = await totalOf(pool, result);
    return result;
  });
  await printColumnSums(files, job, options, command, total);
  if (job.interrupted) setExitCode(command, interruptedExitCode);
}

type TotalOutcome = Awaited<ReturnType<typeof totalOf>>;

/**
 * The column-sums document (text or --json) and exit code, for a job run now or taken from a
 * queue; with the exact total over all files when --total asked for it.
 */
export async function printColumnSums(
  files: string[],
  job: TableJobResult<ColumnSumsResult>,
  options: TableCommandOptions,
  command: Command,
  total?: TotalOutcome,
) {
  const results = job.files.flatMap((o) =>
    o.ok
      ? [
          {
            file: o.value.file,
            rows: o.value.rows,
            columns: o.value.columns,
            sums: o.value.sums,
            server: o.value.server,
            ...selected(o.value, options),
          },
        ]
      : [],
  );
  const errors = await reportErrors(files, job.files, options);
  if (total && !total.ok) {
    const entry = { file: "(total)", code: total.error.codeName, message: total.error.details };
    say(`error: ${entry.file}: ${entry.code}: ${entry.message}`);
    errors.push(entry);
  }
  const sum = total?.ok ? total.value : undefined;
  if (options.json) await writeJson(sum ? { results, total: sum, errors } : { results, errors });
  else {
    const lines = results.map((r) => (r.rows === 0 ? fileLine(r) : `${fileLine(r)}\n${numberBlock(r.sums)}`));
    if (sum) {
      lines.push(
        sum.rows === 0
          ? `total of ${results.length} files: no data rows`
          : `total of ${results.length} files: ${counted(sum.rows, "row")} x ${counted(sum.columns, "column")}\n${numberBlock(sum.sums)}`,
      );
    }
    await writeText(lines.join("\n") || "no results");
  }
  setExitCode(command, errors.length > 0 ? 1 : 0);
}

export async function weightedMeansCommand(files: string[], options: WeightedMeansOptions, command: Command) {
  checkStdin(files, options, options.weights);
  const weights = await readWeights(options.weights);
  const job = await tableJob<WeightedMeansResult>(options, (pool, jobOptions) =>
    weightedMeansJob(pool, files, weights, { ...jobOptions, divisor: options.divisor }),
  );
  await printWeightedMeans(files, job, options, command);
  if (job.interrupted) setExitCode(command, interruptedExitCode);
}

/** The weighted-means document (text or --json) and exit code, for a job run now or taken from a queue. */
export async function printWeightedMeans(
  files: string[],
  job: TableJobResult<WeightedMeansResult>,
  options: TableCommandOptions,
  command: Command,
) {
  const results = job.files.flatMap((o) =>
    o.ok
      ? [
          {
            file: o.value.file,
            rows: o.value.rows,
            columns: o.value.columns,
            means: o.value.means,
            server: o.value.server,
            ...selected(o.value, options),
          },
        ]
      : [],
  );
  const errors = await reportErrors(files, job.files, options);
  if (options.json) await writeJson({ results, errors });
  else
    await writeText(
      results
        .map((r) => (r.rows === 0 ? fileLine(r) : `${fileLine(r)}\n${numberBlock(r.means, 5)}`))
        .join("\n") || "no results",
    );
  setExitCode(command, errors.length > 0 ? 1 : 0);
}
