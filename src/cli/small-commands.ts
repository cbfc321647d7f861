import type { Command } from "commander";
import { LessonClient } from "../lesson/client/lesson-client.js";
import { ClientError } from "../rpc/client-error.js";
import { parseLists, parseRadii } from "./option-parsers.js";
import { say, textTable, writeJson, writeText } from "./output.js";
import { type CommonOptions, poolFromOptions } from "./pool-from-options.js";
import { setExitCode } from "./run-program.js";

/** Runs one call; a refusal is reported (stderr, and JSON errors) with exit code 1. */
async function runOne<T>(
  options: CommonOptions,
  command: Command,
  call: (lesson: LessonClient) => Promise<T>,
): Promise<T | undefined> {
  const pool = await poolFromOptions(options);
  try {
    return await call(new LessonClient(pool));
  } catch (caught) {
    const error = ClientError.from(caught);
    say(`error: ${error.codeName}: ${error.details}`);
    if (options.json) await writeJson({ errors: [{ code: error.codeName, message: error.details }] });
    setExitCode(command, 1);
    return undefined;
  } finally {
    await pool.close();
  }
}

export async function circlesCommand(
  options: CommonOptions & { radii: string; pi?: number },
  command: Command,
) {
  const radii = parseRadii(options.radii);
  const result = await runOne(options, command, (lesson) => lesson.circles(radii, options.pi));
  if (!result) return;
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
  if (!result) return;
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
