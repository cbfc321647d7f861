import type { ServerConnection } from "../client/server-connection.js";
import type { TableCallControls, TableWhere } from "../client/table-calls.js";
import type { TableReadOptions } from "../client/table-input.js";
import { byFile, planTableTasks, type TableTask } from "../client/table-tasks.js";
import type { TableCommandOptions } from "./column-sums-command.js";
import { fileSizes } from "./file-sizes.js";
import { poolFromOptions } from "./pool-from-options.js";
import { jobProgress } from "./progress-display.js";
import { reportRetries } from "./report-errors.js";
import { splitMode } from "./split-option.js";
import { tableReadOptions } from "./table-read-options.js";

/** One table call of a job: a file or a part of one, on a server. */
export type TableCall<R> = (
  task: TableTask,
  server: ServerConnection,
  read: TableReadOptions,
  controls: TableCallControls,
  where: TableWhere,
) => Promise<R>;

/**
 * The shape every table command shares: check the options, start or reach the pool, cut files
 * into tasks (--split), run them with progress and failover, and regroup the outcomes by file.
 */
export async function runTableJob<R>(files: string[], options: TableCommandOptions, call: TableCall<R>) {
  const read = tableReadOptions(options);
  const split = splitMode(options.split);
  const remote = options.remotePaths ?? false;
  const pool = await poolFromOptions(options);
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
          call(task, server, read, { signal, onBytes: progress.onBytes }, { part: task.part, remote }),
        { onEvent: progress.onEvent },
      );
      reportRetries(
        tasks.map((t) => t.file),
        outcomes,
      );
      return byFile(files, tasks, outcomes);
    } finally {
      progress.stop();
    }
  } finally {
    await pool.close();
  }
}
