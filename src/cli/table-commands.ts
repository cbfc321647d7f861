import type { Command } from "commander";
import type { ColumnSumsResult, DivisorName, WeightedMeansResult } from "../lesson/client/table-calls.js";
import {
  columnSumsJob,
  type TableJobOptions,
  type TableJobResult,
  weightedMeansJob,
} from "../lesson/client/table-job.js";
import type { Pool } from "../pool/pool.js";
import { readWeights, splitMode, tableReadOptions } from "./option-parsers.js";
import {
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
import { tableHints } from "./table-hints.js";

export interface TableCommandOptions extends CommonOptions {
  delimiter?: string;
  decimal?: string;
  header?: boolean;
  split?: string;
  remotePaths?: boolean;
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
}

/**
 * The shape both table commands share: check the options, start or reach the pool, run the
 * job with progress bars and failover, report retries, and close the pool.
 */
async function tableJob<R>(
  options: TableCommandOptions,
  run: (pool: Pool, job: TableJobOptions) => Promise<TableJobResult<R>>,
): Promise<TableJobResult<R>> {
  const read = tableReadOptions(options);
  const split = splitMode(options.split);
  const remote = options.remotePaths ?? false;
  const pool = await poolFromOptions(options);
  let progress: JobProgress | undefined;
  try {
    const result = await run(pool, {
      read,
      split,
      remote,
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
    return result;
  } finally {
    progress?.stop();
    await pool.close();
  }
}

/** A file's line of the text output; a table without data rows says so. */
function fileLine(r: { file: string; rows: number; columns: number; server: string }): string {
  return r.rows === 0
    ? `${r.file}: no data rows, on ${r.server}`
    : `${r.file}: ${r.rows} rows x ${r.columns} columns, on ${r.server}`;
}

/** The errors in words on stderr, each refused table followed by what the person may have meant. */
async function reportErrors(
  files: string[],
  outcomes: Parameters<typeof errorEntries>[1],
  options: TableCommandOptions,
): Promise<ErrorEntry[]> {
  const errors = errorEntries(files, outcomes);
  const read = tableReadOptions(options);
  for (const error of errors) {
    for (const hint of await tableHints(error, read, options.remotePaths ?? false)) say(`hint: ${hint}`);
  }
  return errors;
}

export async function columnSumsCommand(files: string[], options: TableCommandOptions, command: Command) {
  checkStdin(files, options);
  const job = await tableJob<ColumnSumsResult>(options, (pool, jobOptions) =>
    columnSumsJob(pool, files, jobOptions),
  );
  await printColumnSums(files, job, options, command);
}

/** The column-sums document (text or --json) and exit code, for a job run now or taken from a queue. */
export async function printColumnSums(
  files: string[],
  job: TableJobResult<ColumnSumsResult>,
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
            sums: o.value.sums,
            server: o.value.server,
          },
        ]
      : [],
  );
  const errors = await reportErrors(files, job.files, options);
  if (options.json) await writeJson({ results, errors });
  else
    await writeText(
      results
        .map((r) => (r.rows === 0 ? fileLine(r) : `${fileLine(r)}\n${numberBlock(r.sums)}`))
        .join("\n") || "no results",
    );
  setExitCode(command, errors.length > 0 ? 1 : 0);
}

export async function weightedMeansCommand(files: string[], options: WeightedMeansOptions, command: Command) {
  checkStdin(files, options, options.weights);
  const weights = await readWeights(options.weights);
  const job = await tableJob<WeightedMeansResult>(options, (pool, jobOptions) =>
    weightedMeansJob(pool, files, weights, { ...jobOptions, divisor: options.divisor }),
  );
  await printWeightedMeans(files, job, options, command);
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
