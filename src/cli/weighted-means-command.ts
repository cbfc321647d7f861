import type { Command } from "commander";
import { type DivisorName, weightedMeansCall } from "../client/table-calls.js";
import { byFile, mergeWeightedMeans, planTableTasks, weightsFor } from "../client/table-tasks.js";
import { type TableCommandOptions, tableJobOptions } from "./column-sums-command.js";
import { fileSizes } from "./file-sizes.js";
import { writeJson, writeText } from "./json-output.js";
import { poolFromOptions } from "./pool-from-options.js";
import { jobProgress } from "./progress-display.js";
import { readWeights } from "./read-weights.js";
import { errorEntries, reportRetries } from "./report-errors.js";
import { setExitCode } from "./run-program.js";
import { numberBlock } from "./text-table.js";

export interface WeightedMeansOptions extends TableCommandOptions {
  weights: string;
  divisor: DivisorName;
}

export async function weightedMeansCommand(files: string[], options: WeightedMeansOptions, command: Command) {
  const { read, split } = tableJobOptions(options);
  const weights = await readWeights(options.weights);
  const pool = await poolFromOptions(options);
  const remote = options.remotePaths ?? false;
  let groups: ReturnType<typeof byFile<Awaited<ReturnType<typeof weightedMeansCall>>>>;
  try {
    const tasks = await planTableTasks(files, {
      split,
      slots: pool.slots(),
      header: read.header,
      delimiter: read.delimiter,
      remote,
    });
    const progress = jobProgress(tasks.length, remote ? 0 : await fileSizes(files), options);
    try {
      const outcomes = await pool.mapSettled(
        tasks,
        (task, server, signal) =>
          weightedMeansCall(
            server,
            task.file,
            weightsFor(task, weights),
            options.divisor,
            read,
            { signal, onBytes: progress.onBytes },
            { part: task.part, remote },
          ),
        { onEvent: progress.onEvent },
      );
      reportRetries(
        tasks.map((t) => t.file),
        outcomes,
      );
      groups = byFile(files, tasks, outcomes);
    } finally {
      progress.stop();
    }
  } finally {
    await pool.close();
  }
  const merged = groups.map((group) => mergeWeightedMeans(group, weights, options.divisor));
  const results = merged.flatMap((o) =>
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
  const errors = errorEntries(files, merged);
  if (options.json) await writeJson({ results, errors });
  else {
    await writeText(
      results
        .map(
          (r) =>
            `${r.file}: ${r.rows} rows x ${r.columns} columns, on ${r.server}\n${numberBlock(r.means, 5)}`,
        )
        .join("\n") || "no results",
    );
  }
  setExitCode(command, errors.length > 0 ? 1 : 0);
}
