import type { Command } from "commander";
import { type DivisorName, weightedMeansCall } from "../client/table-calls.js";
import { mergeWeightedMeans, weightsFor } from "../client/table-tasks.js";
import type { TableCommandOptions } from "./column-sums-command.js";
import { writeJson, writeText } from "./json-output.js";
import { readWeights } from "./read-weights.js";
import { errorEntries } from "./report-errors.js";
import { setExitCode } from "./run-program.js";
import { runTableJob } from "./table-job.js";
import { numberBlock } from "./text-table.js";

export interface WeightedMeansOptions extends TableCommandOptions {
  weights: string;
  divisor: DivisorName;
}

export async function weightedMeansCommand(files: string[], options: WeightedMeansOptions, command: Command) {
  const weights = await readWeights(options.weights);
  const groups = await runTableJob(files, options, (task, server, read, controls, where) =>
    weightedMeansCall(server, task.file, weightsFor(task, weights), options.divisor, read, controls, where),
  );
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
