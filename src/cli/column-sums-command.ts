import type { Command } from "commander";
import { columnSumsCall } from "../client/table-calls.js";
import { mergeColumnSums } from "../client/table-tasks.js";
import { writeJson, writeText } from "./json-output.js";
import type { CommonOptions } from "./pool-from-options.js";
import { errorEntries } from "./report-errors.js";
import { setExitCode } from "./run-program.js";
import { runTableJob } from "./table-job.js";
import { numberBlock } from "./text-table.js";

export interface TableCommandOptions extends CommonOptions {
  delimiter?: string;
  decimal?: string;
  header?: boolean;
  split?: string;
  remotePaths?: boolean;
}

export async function columnSumsCommand(files: string[], options: TableCommandOptions, command: Command) {
  const groups = await runTableJob(files, options, (task, server, read, controls, where) =>
    columnSumsCall(server, task.file, read, controls, where),
  );
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
