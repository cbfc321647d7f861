import type { Command } from "commander";
import type { CirclesResponse, MeansResponse } from "../gen/rpcpool/compute/v1/compute.js";
import { LessonClient } from "../lesson/client/lesson-client.js";
import { ClientError } from "../rpc/client-error.js";
import { parseLists, parseRadii } from "./option-parsers.js";
import { say, textTable, unreachableHints, writeJson, writeText } from "./output.js";
import { type CommonOptions, poolFromOptions } from "./pool-from-options.js";
import { setExitCode } from "./run-program.js";

/** Runs one call; a refusal is reported (stderr, and JSON errors) with exit code 1. */
async function runOne<T>(
  options: CommonOptions,
  command: Command,
  call: (lesson: LessonClient) => Promise<T>,
): Promise<T | undefined> {
  // One call and exit: it goes out right behind the servers' Info (a round trip less).
  const pool = await poolFromOptions(options, undefined, { pipeline: true });
  try {
    return await call(new LessonClient(pool));
  } catch (caught) {
    await reportRefusal(caught, options, command);
    return undefined;
  } finally {
    await pool.close();
  }
}

/** A refused call in words on stderr (and as the --json document), exit code 1. */
export async function reportRefusal(caught: unknown, options: { json?: boolean }, command: Command) {
  const error = ClientError.from(caught);
  say(`error: ${error.codeName}: ${error.details}`);
  // A pipelined pool that reached no server fails its call with connect's error: the same hints.
  for (const hint of unreachableHints(error)) say(`hint: ${hint}`);
  if (options.json) await writeJson({ errors: [{ code: error.codeName, message: error.details }] });
  setExitCode(command, 1);
}

export async function circlesCommand(
  options: CommonOptions & { radii: string; pi?: number },
  command: Command,
) {
  const radii = parseRadii(options.radii);
  const result = await runOne(options, command, (lesson) => lesson.circles(radii, options.pi));
  if (result) await printCircles(radii, result, options);
}

/** The circles document (text or --json), for a call made now or a job taken from a queue. */
export async function printCircles(radii: number[], result: CirclesResponse, options: { json?: boolean }) {
  if (options.json) await writeJson({ radii, lengths: result.lengths, areas: result.areas });
  else {
    await writeText(
      `${textTable(
        ["radius", "length", "area"],
        radii.map((r, i) => [r, result.lengths[i]!, result.areas[i]!]),
      )}\n(on ${result.servedBy!.server})`,
    );
  }
}

export async function meansCommand(options: CommonOptions & { lists: string }, command: Command) {
  const lists = parseLists(options.lists);
  const result = await runOne(options, command, (lesson) => lesson.means(lists));
  if (result) await printMeans(lists, result, options);
}

/** The means document (text or --json), for a call made now or a job taken from a queue. */
export async function printMeans(lists: number[][], result: MeansResponse, options: { json?: boolean }) {
  if (options.json) await writeJson({ means: result.means });
  else {
    await writeText(
      `${textTable(
        ["list", "mean"],
        lists.map((list, i) => [JSON.stringify(list), result.means[i]!]),
      )}\n(on ${result.servedBy!.server})`,
    );
  }
}
