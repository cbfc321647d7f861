import type { Command } from "commander";
import { columnSumsCall } from "../client/table-calls.js";
import { fileSizes } from "./file-sizes.js";
import { writeJson, writeText } from "./json-output.js";
import { type CommonOptions, poolFromOptions } from "./pool-from-options.js";
import { jobProgress } from "./progress-display.js";
import { errorEntries, reportRetries } from "./report-errors.js";
import { setExitCode } from "./run-program.js";
import { tableReadOptions } from "./table-read-options.js";
import { numberBlock } from "./text-table.js";

export interface TableCommandOptions extends CommonOptions {
  delimiter?: string;
  decimal?: string;
  header?: boolean;
}

export async function columnSumsCommand(files: string[], options: TableCommandOptions, command: Command) {
  const read = tableReadOptions(options);
  const progress = jobProgress(files.length, await fileSizes(files), options);
  const pool = await poolFromOptions(options, progress.onEvent);
  let outcomes: Awaited<
    ReturnType<typeof pool.mapSettled<string, Awaited<ReturnType<typeof columnSumsCall>>>>
  >;
  try {
    outcomes = await pool.mapSettled(files, (file, server, signal) =>
      columnSumsCall(server, file, read, { signal, onBytes: progress.onBytes }),
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
            sums: o.value.sums,
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
          (r) => `${r.file}: ${r.rows} rows x ${r.columns} columns, on ${r.server}\n${numberBlock(r.sums)}`,
        )
        .join("\n") || "no results",
    );
  }
  setExitCode(command, errors.length > 0 ? 1 : 0);
}
