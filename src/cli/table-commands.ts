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
import { errorEntries, numberBlock, reportRetries, writeJson, writeText } from "./output.js";
import { type CommonOptions, poolFromOptions } from "./pool-from-options.js";
import { fileSizes, type JobProgress, jobProgress } from "./progress-display.js";
import { setExitCode } from "./run-program.js";

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

/**
 * The shape both table commands share: check the options, start or reach the pool, run the
 * job with progress bars and failover, report retries, and close the pool.
 */
async function tableJob<R>(
  files: string[],
  options: TableCommandOptions,
  run: (pool: Pool, job: TableJobOptions) => Promise<TableJobResult<R>>,
): Promise<TableJobResult<R>> {
  const read = tableReadOptions(options);
  const split = splitMode(options.split);
  const remote = options.remotePaths ?? false;
  const pool = await poolFromOptions(options);
  let progress: JobProgress | undefined;
  const totalBytes = remote ? 0 : await fileSizes(files);
  try {
    const result = await run(pool, {
      read,
      split,
      remote,
      onPlan: (tasks) => {
        progress = jobProgress(tasks.length, totalBytes, options);
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

function fileLine(r: { file: string; rows: number; columns: number; server: string }): string {
  return `${r.file}: ${r.rows} rows x ${r.columns} columns, on ${r.server}`;
}

export async function columnSumsCommand(files: string[], options: TableCommandOptions, command: Command) {
  const job = await tableJob<ColumnSumsResult>(files, options, (pool, jobOptions) =>
    columnSumsJob(pool, files, jobOptions),
  );
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
  const errors = errorEntries(files, job.files);
  if (options.json) await writeJson({ results, errors });
  else
    await writeText(results.map((r) => `${fileLine(r)}\n${numberBlock(r.sums)}`).join("\n") || "no results");
  setExitCode(command, errors.length > 0 ? 1 : 0);
}

export async function weightedMeansCommand(files: string[], options: WeightedMeansOptions, command: Command) {
  const weights = await readWeights(options.weights);
  const job = await tableJob<WeightedMeansResult>(files, options, (pool, jobOptions) =>
    weightedMeansJob(pool, files, weights, { ...jobOptions, divisor: options.divisor }),
  );
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
  const errors = errorEntries(files, job.files);
  if (options.json) await writeJson({ results, errors });
  else
    await writeText(
      results.map((r) => `${fileLine(r)}\n${numberBlock(r.means, 5)}`).join("\n") || "no results",
    );
  setExitCode(command, errors.length > 0 ? 1 : 0);
}
