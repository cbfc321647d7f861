import type { Command } from "commander";
import type { SplitMode } from "../client/split-plan.js";
import { columnSumsCall } from "../client/table-calls.js";
import { byFile, mergeColumnSums, planTableTasks } from "../client/table-tasks.js";
import { fileSizes } from "./file-sizes.js";
import { writeJson, writeText } from "./json-output.js";
import { type CommonOptions, poolFromOptions } from "./pool-from-options.js";
import { jobProgress } from "./progress-display.js";
import { errorEntries, reportRetries } from "./report-errors.js";
import { setExitCode } from "./run-program.js";
import { splitMode } from "./split-option.js";
import { tableReadOptions } from "./table-read-options.js";
import { numberBlock } from "./text-table.js";

export interface TableCommandOptions extends CommonOptions {
  delimiter?: string;
  decimal?: string;
  header?: boolean;
  split?: string;
  remotePaths?: boolean;
}

/** The table options shared by column-sums and weighted-means, checked before any server starts. */
export function tableJobOptions(options: TableCommandOptions): {
  read: ReturnType<typeof tableReadOptions>;
  split: SplitMode;
} {
  return { read: tableReadOptions(options), split: splitMode(options.split) };
}

export async function columnSumsCommand(files: string[], options: TableCommandOptions, command: Command) {
  const { read, split } = tableJobOptions(options);
  const pool = await poolFromOptions(options);
  const remote = options.remotePaths ?? false;
  let groups: ReturnType<typeof byFile<Awaited<ReturnType<typeof columnSumsCall>>>>;
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
          columnSumsCall(
            server,
            task.file,
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
  const merged = groups.map((group) => mergeColumnSums(group));
  const results = merged.flatMap((o) =>
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
  const errors = errorEntries(files, merged);
  if (options.json) await writeJson({ results, errors });
  else {
    await writeText(
      results
        .map(
          (r) => `${r.file}: ${r.rows} rows x ${r.columns} columns, on ${r.server}\n${numberBlock(r.sums)}`,
        )
        .join("\n") || "no results",
    );
  }
  setExitCode(command, errors.length > 0 ? 1 : 0);
}
