import type { Command } from "commander";
import { type DivisorName, weightedMeansCall } from "../client/table-calls.js";
import type { TableCommandOptions } from "./column-sums-command.js";
import { fileSizes } from "./file-sizes.js";
import { writeJson, writeText } from "./json-output.js";
import { poolFromOptions } from "./pool-from-options.js";
import { jobProgress } from "./progress-display.js";
import { readWeights } from "./read-weights.js";
import { errorEntries, reportRetries } from "./report-errors.js";
import { setExitCode } from "./run-program.js";
import { tableReadOptions } from "./table-read-options.js";
import { numberBlock } from "./text-table.js";

export interface WeightedMeansOptions extends TableCommandOptions {
  weights: string;
  divisor: DivisorName;
}

export async function weightedMeansCommand(files: string[], options: WeightedMeansOptions, command: Command) {
  const read = tableReadOptions(options);
  const weights = await readWeights(options.weights);
  const progress = jobProgress(files.length, await fileSizes(files), options);
  const pool = await poolFromOptions(options, progress.onEvent);
  let outcomes: Awaited<
    ReturnType<typeof pool.mapSettled<string, Awaited<ReturnType<typeof weightedMeansCall>>>>
  >;
  try {
    outcomes = await pool.mapSettled(files, (file, server, signal) =>
      weightedMeansCall(server, file, weights, options.divisor, read, { signal, onBytes: progress.onBytes }),
    );
  } finally {
    progress.stop();
    await pool.close();
  }
  const results = outcomes.flatMap((o) =>
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
  reportRetries(files, outcomes);
  const errors = errorEntries(files, outcomes);
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
