import type { Command } from "commander";
import { columnSumsCall } from "../client/table-calls.js";
import { ensureLessonTables } from "../lesson/data/lesson-tables.js";
import { writeJson, writeText } from "./json-output.js";
import { type CommonOptions, poolFromOptions } from "./pool-from-options.js";
import { errorEntries } from "./report-errors.js";
import { setExitCode } from "./run-program.js";
import { describeSpeedup, speedupSummary } from "./speedup-summary.js";
import { numberBlock, textTable } from "./text-table.js";
import { timed } from "./timed.js";

export interface LessonOptions extends CommonOptions {
  data: string;
}

/**
 * The lesson's experiment, made honest: the column sums of its ten tables, first one file at a
 * time on one server, then fanned out over every server; both times, the speed-up, the
 * efficiency, and which server ran each file.
 */
export async function lessonCommand(options: LessonOptions, command: Command) {
  const files = await ensureLessonTables(options.data);
  const pool = await poolFromOptions(options);
  try {
    const run = (servers: typeof pool.servers, perServer?: number) =>
      timed(() =>
        pool.mapSettled(files, (file, server, signal) => columnSumsCall(server, file, {}, { signal }), {
          servers,
          perServer,
        }),
      );
    // One file per server first, untimed: connections and JIT warm, as in any fair measurement.
    await pool.mapSettled(
      pool.servers,
      (_, server, signal) => columnSumsCall(server, files[0]!, {}, { signal }),
      {
        perServer: 1,
      },
    );
    const sequential = await run(pool.servers.slice(0, 1), 1);
    const parallel = await run(pool.servers);
    const summary = speedupSummary(sequential.ms, parallel.ms, pool.servers.length);
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
        `The lesson's ${files.length} tables (${options.data}), column sums on ${pool.servers.length} servers`,
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
