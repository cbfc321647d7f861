import type { Command } from "commander";
import { type AccumulatedTable, accumulateTables } from "../lesson/client/accumulate.js";
import type { FileOutcome } from "../lesson/client/table-tasks.js";
import { type TableFlags, tableReadOptions } from "./option-parsers.js";
import { counted, errorEntries, numberBlock, writeJson, writeText } from "./output.js";
import { type CommonOptions, poolFromOptions } from "./pool-from-options.js";
import { setExitCode } from "./run-program.js";

export interface AccumulateCommandOptions extends CommonOptions, TableFlags {
  /** The server that holds the accumulator (address or name); default the least busy. */
  server?: string;
}

/**
 * `rpcpool accumulate FILE...`: the lesson's RPyC example. One exact accumulator lives on one server
 * for the whole command (a session); the server pulls each file from this client through a callback
 * and answers the running column sums, printed after each file. Without --servers one local server
 * is started (an accumulator lives on one server).
 */
export async function accumulateCommand(
  files: string[],
  options: AccumulateCommandOptions,
  command: Command,
) {
  const read = tableReadOptions(options);
  const pool = await poolFromOptions({ ...options, local: options.local ?? 1 });
  const outcomes: Array<FileOutcome<AccumulatedTable>> = [];
  try {
    for await (const outcome of accumulateTables(pool, files, { ...read, server: options.server })) {
      outcomes.push(outcome);
      if (!options.json && outcome.ok) await writeText(runningText(outcome.value));
    }
  } finally {
    await pool.close();
  }
  const results = outcomes.flatMap((o) => (o.ok ? [o.value] : []));
  const errors = errorEntries(files, outcomes);
  if (options.json) await writeJson({ results, errors });
  else if (results.length === 0) await writeText("no results");
  setExitCode(command, errors.length > 0 ? 1 : 0);
}

function runningText(r: AccumulatedTable): string {
  return (
    `${r.file}: ${counted(r.rows, "row")}; running sums of ${counted(r.tables, "table")} ` +
    `(${counted(r.totalRows, "row")} x ${counted(r.columns, "column")}), on ${r.server}\n${numberBlock(r.sums)}`
  );
}
