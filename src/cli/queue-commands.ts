import type { Command } from "commander";
import type { TableReadOptions } from "../lesson/client/table-input.js";
import type { JobStatus } from "../queue/job-queue.js";
import { collect } from "./option-parsers.js";
import { printable, say, textTable, writeJson, writeText } from "./output.js";
import { addLessonSubmitCommands } from "./queue-lesson-submits.js";
import {
  isMethodJob,
  type MethodSubmitOptions,
  printMethodResult,
  submitMethodCommand,
} from "./queue-method-jobs.js";
import { type QueueOptions, submitOptions, withQueue } from "./queue-options.js";
import { waitNoticingNoWorker } from "./queue-wait-notice.js";
import { UsageError } from "./run-program.js";
import { printCircles, printMeans, reportRefusal } from "./small-commands.js";
import { printColumnSums, printWeightedMeans } from "./table-commands.js";

const lesson = () => import("../lesson/client/queue-jobs.js");

/**
 * The durable side of the lesson's commands (docs/queue.md): `submit` puts a job on a Redis queue
 * that servers started with --queue work through and prints its id; `status`, `result` and `jobs`
 * read it back, from any machine, as long as the results are kept. `result` prints exactly what
 * the synchronous command prints, with its exit code.
 */

export { delay } from "./queue-options.js";

/** `rpcpool submit ...`, `status`, `result` and `jobs`, added to the program. */
export function addQueueCommands(program: Command): void {
  // The generic `submit SERVICE/METHOD` has options of its own beside its subcommands': an option
  // after a subcommand's name must go to the subcommand (commander's positional options).
  program.enablePositionalOptions();
  const submit = submitOptions(
    program
      .command("submit")
      .enablePositionalOptions()
      .argument("[method]", "SERVICE/METHOD of a unary method (or one of the lesson's commands below)")
      .argument("[file]", "JSON lines, one request each, as rpcpool map takes them; - or none is stdin")
      .description("put a job on a queue that rpcpool servers (--queue) work through; print its id at once")
      .option("--servers <list>", "a server whose reflection describes the method (else --proto)")
      .option(
        "--proto <file>",
        "read the method from this .proto instead of reflection (repeatable)",
        collect,
      )
      .option("-I, --import-path <dir>", "folder the .proto files and their imports are found in", collect)
      .option("--emit-defaults", "result prints fields that hold their default value too (as map does)")
      .option(
        "--then <method>",
        "a reduce step, SERVICE/METHOD, run on every reply once all are done (result prints its reply last)",
      ),
  ).action(async (method: string | undefined, file: string | undefined, options: MethodSubmitOptions) => {
    const commands = submit.commands.map((c) => c.name()).join(", ");
    if (method === undefined)
      throw new UsageError(`give SERVICE/METHOD (with JSON lines) or one of submit's commands: ${commands}`);
    // A misspelled command (`colum-sums`) is no method name either: say both.
    if (!/[./]/.test(method))
      throw new UsageError(`"${method}" is neither SERVICE/METHOD nor one of submit's commands: ${commands}`);
    await submitMethodCommand(method, file, options);
  });
  addLessonSubmitCommands(submit);

  const queueOption = (command: Command) =>
    command
      .option(
        "--queue <url>",
        "redis://[:PASSWORD@]HOST[:PORT][/DB] or rediss://... (default: $RPCPOOL_QUEUE)",
      )
      .option("--json", "print one JSON document on stdout");

  queueOption(
    program
      .command("status")
      .argument("<id>", "the job's id, as submit printed it")
      .description("how many of a job's tasks are waiting, running, done and failed"),
  ).action(async (id: string, options: QueueOptions) => {
    const status = await withQueue(options, (queue) => queue.status(id));
    if (options.json) await writeJson(statusDocument(status));
    else await writeText(statusLine(status));
  });

  queueOption(
    program
      .command("result")
      .argument("<id>", "the job's id, as submit printed it")
      .description("what the synchronous command prints for the job (same document, errors and exit code)")
      .option("--wait", "wait until every task has settled")
      .option(
        "--token-file <file>",
        "the servers' token: refuse any result not signed with it (one written into Redis by someone else)",
      ),
  ).action(async (id: string, options: QueueOptions & { wait?: boolean }, command: Command) => {
    const queueJobs = await lesson();
    const result = await withQueue(options, (queue) => {
      const result = queue.result(id, { wait: options.wait });
      return options.wait ? waitNoticingNoWorker(queue, id, result) : result;
    });
    if (isMethodJob(result.document)) return printMethodResult(result, command);
    const document = queueJobs.lessonDocument(result);
    const json = { json: options.json };
    switch (document.command) {
      case "column-sums": {
        const files = queueJobs.columnSumsOutcome(result);
        return printColumnSums(
          document.files,
          files,
          { ...json, ...submittedFlags(document) },
          command,
          queueJobs.columnSumsTotalOutcome(result, files),
        );
      }
      case "weighted-means":
        return printWeightedMeans(
          document.files,
          queueJobs.weightedMeansOutcome(result),
          { ...json, ...submittedFlags(document) },
          command,
        );
      case "circles":
        try {
          return await printCircles(document.radii, queueJobs.circlesOutcome(result), json);
        } catch (error) {
          return reportRefusal(error, json, command);
        }
      case "means":
        try {
          return await printMeans(document.lists, queueJobs.meansOutcome(result), json);
        } catch (error) {
          return reportRefusal(error, json, command);
        }
    }
  });

  queueOption(
    program
      .command("cancel")
      .argument("<id>", "the job's id, or a schedule's (submit --every), as submit printed it")
      .description("cancel a job (its waiting tasks removed, its running ones aborted), or stop a schedule"),
  ).action(async (id: string, options: QueueOptions) => {
    const cancelled = await withQueue(options, async (queue) =>
      (await queue.cancelSchedule(id)) ? ("schedule" as const) : queue.cancel(id),
    );
    if (cancelled === "schedule") {
      if (options.json) await writeJson({ schedule: id, cancelled: true });
      else await writeText(`${id}: schedule removed (its runs submitted so far go on)`);
    } else if (options.json) await writeJson({ job: id, cancelled });
    else await writeText(cancelled === 0 ? `${id}: cancelled before` : `${id}: cancelled ${cancelled} tasks`);
  });

  queueOption(
    program
      .command("jobs")
      .description("the jobs on a queue whose results are still kept")
      .option("--schedules", "the repeating jobs (submit --every) instead, with their runs"),
  ).action(async (options: QueueOptions & { schedules?: boolean }) => {
    if (options.schedules) return printSchedules(options);
    const jobs = await withQueue(options, (queue) => queue.jobs());
    if (options.json) await writeJson({ jobs: jobs.map(statusDocument) });
    else if (jobs.length === 0) say("no jobs");
    else
      await writeText(
        textTable(
          ["job", "kind", "state", "submitted", "tasks", "waiting", "running", "done", "failed"],
          jobs.map((j) => [
            j.id,
            j.kind,
            j.state,
            new Date(j.created).toISOString(),
            j.tasks,
            j.waiting,
            j.running,
            j.done,
            j.failed,
          ]),
        ),
      );
  });
}

/** `jobs --schedules`: each schedule, how often, its next run, and the runs it has submitted. */
async function printSchedules(options: QueueOptions): Promise<void> {
  const schedules = await withQueue(options, (queue) => queue.schedules());
  const at = (ms?: number) => (ms === undefined ? "" : new Date(ms).toISOString());
  if (options.json) {
    await writeJson({
      schedules: schedules.map((s) => ({
        schedule: s.id,
        kind: s.kind,
        every: s.every,
        created: at(s.created),
        next: s.next === undefined ? null : at(s.next),
        runs: s.runs,
        last: s.last ?? null,
      })),
    });
  } else if (schedules.length === 0) say("no schedules");
  else
    await writeText(
      textTable(
        ["schedule", "kind", "every (ms)", "next", "runs", "last run"],
        schedules.map((s) => [s.id, s.kind, s.every, at(s.next), s.runs, s.last ?? ""]),
      ),
    );
}

/** The read options a table job was submitted with, as the table commands' flags. */
function submittedFlags(document: { read: TableReadOptions; remote: boolean }) {
  const { columns, ...read } = document.read;
  return { ...read, columns: columns?.length ? columns.join(",") : undefined, remotePaths: document.remote };
}

function statusDocument(status: JobStatus) {
  return {
    job: status.id,
    kind: status.kind,
    submitted: new Date(status.created).toISOString(),
    state: status.state,
    tasks: status.tasks,
    waiting: status.waiting,
    delayed: status.delayed,
    running: status.running,
    done: status.done,
    failed: status.failed,
    cancelled: status.cancelled,
    finished: status.finished,
  };
}

function statusLine(status: JobStatus): string {
  return printable(
    `${status.id} (${status.kind}): ${status.state}: ${status.tasks} tasks: ${status.waiting} waiting, ${status.running} running, ${status.done} done, ${status.failed} failed${status.cancelled > 0 ? `, ${status.cancelled} cancelled` : ""}${status.finished ? " (finished)" : ""}`,
  );
}
