import { basename } from "node:path";
import type { Command } from "commander";
import { columnSumsCall } from "../lesson/client/table-calls.js";
import { ensureLessonTables, LessonDataRefused } from "../lesson/data/lesson-tables.js";
import { counted, errorEntries, numberBlock, say, textTable, writeJson, writeText } from "./output.js";
import { type CommonOptions, poolFromOptions } from "./pool-from-options.js";
import { setExitCode, UsageError } from "./run-program.js";
import { describeSpeedup, speedupSummary, timed } from "./speedup-summary.js";

export interface LessonOptions extends CommonOptions {
  data: string;
}

/**
 * The lesson's experiment, made honest: the column sums of its ten tables, first one file at a
 * time on one server, then fanned out over every server; both times, the speed-up, the
 * efficiency, and which server ran each file.
 */
export async function lessonCommand(options: LessonOptions, command: Command) {
  const files = await lessonTables(options.data);
  const pool = await poolFromOptions(options, undefined, { processes: true });
  try {
    const run = (servers: typeof pool.servers, perServer?: number) =>
      timed(() =>
        pool.mapSettled(files, (file, server, signal) => columnSumsCall(server, file, { signal }), {
          servers,
          perServer,
        }),
      );
    // One file per server first, untimed: connections and JIT warm, as in any fair measurement.
    // The servers --require allows, --prefer's first: the baseline runs on the first of them.
    const usable = pool.serversFor();
    await pool.mapSettled(usable, (_, server, signal) => columnSumsCall(server, files[0]!, { signal }), {
      perServer: 1,
    });
    const sequential = await run(usable.slice(0, 1), 1);
    const parallel = await run(usable);
    const summary = speedupSummary(sequential.ms, parallel.ms, usable.length);
    const errors = errorEntries(files, parallel.value);
    const results = parallel.value.flatMap((o) => (o.ok ? [o.value] : []));
    const identical = results.every((r) => JSON.stringify(r.sums) === JSON.stringify(results[0]?.sums));
    setExitCode(command, errors.length > 0 ? 1 : 0);
    if (options.json) {
      await writeJson({
        ...summary,
        results: results.map((r) => ({
          file: r.file,
          rows: r.rows,
          columns: r.columns,
          sums: r.sums,
          server: r.server,
        })),
        sequentialServers: sequential.value.map((o) => (o.ok ? o.value.server : null)),
        errors,
      });
      return;
    }
    const first = results[0];
    await writeText(
      [
        `The lesson's ${files.length} tables (${options.data}), column sums on ${counted(usable.length, "server")}`,
        first
          ? `sums of ${first.file} (${first.rows} rows x ${first.columns} columns)` +
            `${identical ? ", identical for every file" : ""}:\n${numberBlock(first.sums)}`
          : "no results",
        "",
        textTable(
          ["file", "sequential on", "parallel on", "pid", "thread"],
          parallel.value.map((o, i) => {
            const seq = sequential.value[i]!;
            return [
              files[i]!,
              seq.ok ? seq.value.server : "failed",
              o.ok ? o.value.server : "failed",
              o.ok ? o.value.servedBy.pid : "",
              o.ok ? o.value.servedBy.threadId : "",
            ];
          }),
        ),
        "",
        describeSpeedup(summary),
      ].join("\n"),
    );
  } finally {
    await pool.close();
  }
}

/** The lesson's tables in `dir`: missing ones generated (said on stderr), a person's own never touched. */
async function lessonTables(dir: string): Promise<string[]> {
  try {
    return await ensureLessonTables(dir, undefined, {
      onGenerate: (paths) =>
        say(
          `generating the lesson's ${counted(paths.length, "table")} missing in ${dir}: ` +
            paths.map((p) => basename(p)).join(", "),
        ),
    });
  } catch (error) {
    if (error instanceof LessonDataRefused) throw new UsageError(`--data: ${error.message}`);
    const code = (error as NodeJS.ErrnoException).code;
    if (code) throw new UsageError(`--data: cannot use ${dir}: ${(error as Error).message}`);
    throw error;
  }
}
