import { type Command, Option } from "commander";
import type { DivisorName } from "../lesson/client/table-calls.js";
import type { TableReadOptions } from "../lesson/client/table-input.js";
import type { JobQueue, JobStatus } from "../queue/job-queue.js";
import { readTokenFile } from "../rpc/client-credentials.js";
import {
  duration,
  parseLists,
  parseRadii,
  readWeights,
  type TableFlags,
  tableFlags,
  tableReadOptions,
} from "./option-parsers.js";
import { printable, say, textTable, writeJson, writeText } from "./output.js";
import { waitNoticingNoWorker } from "./queue-wait-notice.js";
import { UsageError } from "./run-program.js";
import { printCircles, printMeans, reportRefusal } from "./small-commands.js";
import { checkStdin, printColumnSums, printWeightedMeans } from "./table-commands.js";

/**
 * The durable side of the lesson's commands (docs/queue.md): `submit` puts a job on a Redis queue
 * that servers started with --queue work through and prints its id; `status`, `result` and `jobs`
 * read it back, from any machine, as long as the results are kept. `result` prints exactly what
 * the synchronous command prints, with its exit code.
 */

interface QueueOptions {
  queue?: string;
  json?: boolean;
  /** The servers' token: results must be signed with it (result only). */
  tokenFile?: string;
}

interface SubmitOptions extends QueueOptions {
  keep: number;
  attempts: number;
  /** The job controls (docs/queue.md): a submission key, a delay, a priority. */
  key?: string;
  delay?: number;
  priority?: number;
  every?: number;
}

/** The controls every submit passes to JobQueue.submit. */
function controls(options: SubmitOptions) {
  return {
    keepMs: options.keep,
    attempts: options.attempts,
    key: options.key,
    delayMs: options.delay,
    priority: options.priority,
    every: options.every,
  };
}

/** A --delay: milliseconds (2000), or a time with its unit (2s, 5m, 1h); 0 for none. */
export function delay(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim());
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match?.[2] ?? "ms"]!;
  const ms = match ? Math.round(Number(match[1]) * unit) : Number.NaN;
  if (!Number.isSafeInteger(ms))
    throw new UsageError(`expected milliseconds or a time like 2s or 5m, not "${value}"`);
  return ms;
}

interface TableSubmitOptions extends SubmitOptions, TableFlags {
  remotePaths?: boolean;
}

/** The queue named by --queue, or by RPCPOOL_QUEUE (which keeps a password out of `ps`). */
export async function openQueue(options: QueueOptions): Promise<JobQueue> {
  const url = options.queue ?? process.env.RPCPOOL_QUEUE;
  if (!url) throw new UsageError("give the queue: --queue redis://HOST:PORT or RPCPOOL_QUEUE");
  // Loaded here: the other commands never pay for the Redis client.
  const [{ JobQueue }, { QueueUrlError }] = await Promise.all([
    import("../queue/job-queue.js"),
    import("../queue/queue-url.js"),
  ]);
  let signingKey: string | undefined;
  try {
    signingKey = options.tokenFile ? readTokenFile(options.tokenFile) : undefined;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  try {
    return new JobQueue(url, { signingKey });
  } catch (error) {
    if (error instanceof QueueUrlError) throw new UsageError(`--queue: ${error.message}`);
    throw error;
  }
}

async function withQueue<T>(options: QueueOptions, work: (queue: JobQueue) => Promise<T>): Promise<T> {
  const queue = await openQueue(options);
  try {
    return await work(queue);
  } finally {
    await queue.close();
  }
}

const lesson = () => import("../lesson/client/queue-jobs.js");

/** The lesson's reduce step for column sums (what `--total` runs). */
const mergeColumnSums = "rpcpool.compute.v1.ComputeService/MergeColumnSums";

async function printSubmitted(id: string, options: QueueOptions, schedule = false): Promise<void> {
  if (options.json) await writeJson(schedule ? { schedule: id } : { job: id });
  else await writeText(id);
}

/** Options every `submit` command has. */
function submitOptions(command: Command): Command {
  return command
    .option("--queue <url>", "redis://[:PASSWORD@]HOST[:PORT][/DB] or rediss://... (default: $RPCPOOL_QUEUE)")
    .option(
      "--keep <time>",
      "how long the results are kept after the job ends: 90s, 10m, 2h, 1d",
      duration,
      86_400_000,
    )
    .option(
      "--attempts <n>",
      "runs of a task whose server fails (bad input is never run twice)",
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 100)
          throw new UsageError(`--attempts: 1 to 100, not "${v}"`);
        return n;
      },
      5,
    )
    .option("--key <key>", "a submission key: the same key while its job is kept gives that job, run once")
    .option("--delay <time>", "take its tasks no sooner than this: milliseconds, or 2s, 5m, 1h", delay)
    .option("--priority <n>", "higher first, -1000 to 1000 (default 0)", (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || Math.abs(n) > 1000)
        throw new UsageError(`--priority: -1000 to 1000, not "${v}"`);
      return n;
    })
    .option(
      "--every <time>",
      "repeat: submit the job again every 2s, 10m, 1h (prints the schedule's id; cancel it to stop)",
      delay,
    )
    .option("--json", 'print {"job":"ID"} ({"schedule":"ID"} with --every)');
}

function tableSubmitOptions(command: Command): Command {
  return tableFlags(submitOptions(command)).option(
    "--remote-paths",
    "FILEs are paths under each server's --data-root: only paths travel",
  );
}

/** The path --then names (SERVICE/METHOD, with or without its leading slash). */
const methodPath = (name: string) => (name.startsWith("/") ? name : `/${name}`);

/** `rpcpool submit ...`, `status`, `result` and `jobs`, added to the program. */
export function addQueueCommands(program: Command): void {
  const submit = program
    .command("submit")
    .description("put a job on a queue that rpcpool servers (--queue) work through; print its id at once");

  tableSubmitOptions(
    submit
      .command("column-sums")
      .argument("<files...>", "CSV tables; - is standard input")
      .description("column sums of CSV tables, as a job")
      .option("--total", "also their exact total, reduced by a server once every file is done")
      .option("--then <method>", `the reduce step, by name: ${mergeColumnSums} (what --total is)`),
  ).action(async (files: string[], options: TableSubmitOptions & { total?: boolean; then?: string }) => {
    checkStdin(files, options);
    if (options.then !== undefined && methodPath(options.then) !== `/${mergeColumnSums}`)
      throw new UsageError(`--then: column-sums is reduced by ${mergeColumnSums}, not "${options.then}"`);
    const read = tableReadOptions(options);
    const { submitColumnSums } = await lesson();
    const job = await withQueue(options, (queue) =>
      submitColumnSums(queue, files, {
        read,
        remote: options.remotePaths,
        total: options.total || options.then !== undefined,
        ...controls(options),
      }),
    );
    await printSubmitted(job.id, options, job.schedule);
  });

  tableSubmitOptions(
    submit
      .command("weighted-means")
      .argument("<files...>", "CSV tables; - is standard input")
      .description("weighted column means of CSV tables, as a job")
      .requiredOption("--weights <file>", "weights: a JSON array, or one number a line (- is standard input)")
      .addOption(
        new Option("--divisor <d>", "divide by the sum of the weights, or by the row count")
          .choices(["weights", "rows"])
          .default("weights"),
      ),
  ).action(
    async (files: string[], options: TableSubmitOptions & { weights: string; divisor: DivisorName }) => {
      checkStdin(files, options, options.weights);
      const read = tableReadOptions(options);
      const weights = await readWeights(options.weights);
      const { submitWeightedMeans } = await lesson();
      const job = await withQueue(options, (queue) =>
        submitWeightedMeans(queue, files, weights, {
          read,
          remote: options.remotePaths,
          divisor: options.divisor,
          ...controls(options),
        }),
      );
      await printSubmitted(job.id, options, job.schedule);
    },
  );

  submitOptions(
    submit
      .command("circles")
      .description("circle lengths and areas, as a job")
      .requiredOption("--radii <list>", "radii: 1,2,3 or a range 1..9")
      .option("--pi <x>", "the value of pi (the lesson uses 3.1415927)", Number),
  ).action(async (options: SubmitOptions & { radii: string; pi?: number }) => {
    const radii = parseRadii(options.radii);
    const { submitCircles } = await lesson();
    const job = await withQueue(options, (queue) =>
      submitCircles(queue, radii, options.pi, controls(options)),
    );
    await printSubmitted(job.id, options, job.schedule);
  });

  submitOptions(
    submit
      .command("means")
      .description("the mean of each list, as a job")
      .requiredOption("--lists <json>", "a JSON array of lists, e.g. '[[1,2,3],[5,2,7]]'"),
  ).action(async (options: SubmitOptions & { lists: string }) => {
    const lists = parseLists(options.lists);
    const { submitMeans } = await lesson();
    const job = await withQueue(options, (queue) => submitMeans(queue, lists, controls(options)));
    await printSubmitted(job.id, options, job.schedule);
  });

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
