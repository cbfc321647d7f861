import { type Command, Option } from "commander";
import type { DivisorName } from "../lesson/client/table-calls.js";
import {
  parseLists,
  parseRadii,
  readWeights,
  type TableFlags,
  tableFlags,
  tableReadOptions,
} from "./option-parsers.js";
import { controls, printSubmitted, type SubmitOptions, submitOptions, withSubmit } from "./queue-options.js";
import { UsageError } from "./run-program.js";
import { checkStdin } from "./table-commands.js";

/**
 * `rpcpool submit column-sums|weighted-means|circles|means`: the lesson's commands as durable jobs,
 * through the typed queue (src/lesson/client/queue-jobs.ts); `result` prints what the
 * synchronous command prints.
 */

interface TableSubmitOptions extends SubmitOptions, TableFlags {
  remotePaths?: boolean;
}

const lesson = () => import("../lesson/client/queue-jobs.js");

/** The lesson's reduce step for column sums (what `--total` runs). */
const mergeColumnSums = "rpcpool.compute.v1.ComputeService/MergeColumnSums";

function tableSubmitOptions(command: Command): Command {
  return tableFlags(submitOptions(command)).option(
    "--remote-paths",
    "FILEs are paths under each server's --data-root: only paths travel",
  );
}

/** The path --then names (SERVICE/METHOD, with or without its leading slash). */
const methodPath = (name: string) => (name.startsWith("/") ? name : `/${name}`);
/** The lesson's `submit` commands, under `submit`. */
export function addLessonSubmitCommands(submit: Command): void {
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
    const job = await withSubmit(options, (queue) =>
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
      const job = await withSubmit(options, (queue) =>
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
    const job = await withSubmit(options, (queue) =>
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
    const job = await withSubmit(options, (queue) => submitMeans(queue, lists, controls(options)));
    await printSubmitted(job.id, options, job.schedule);
  });
}
