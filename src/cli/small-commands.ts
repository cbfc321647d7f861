import type { Command } from "commander";
import { ClientError } from "../client/client-error.js";
import { writeJson, writeText } from "./json-output.js";
import { parseLists } from "./parse-lists.js";
import { parseRadii } from "./parse-radii.js";
import { type CommonOptions, poolFromOptions } from "./pool-from-options.js";
import { setExitCode } from "./run-program.js";
import { textTable } from "./text-table.js";

/** Runs one call; a refusal is reported (stderr, and JSON errors) with exit code 1. */
async function runOne<T>(
  options: CommonOptions,
  command: Command,
  call: (pool: Awaited<ReturnType<typeof poolFromOptions>>) => Promise<T>,
): Promise<T | undefined> {
  const pool = await poolFromOptions(options);
  try {
    return await call(pool);
  } catch (caught) {
    const error = ClientError.from(caught);
    process.stderr.write(`error: ${error.codeName}: ${error.details}\n`);
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
  const result = await runOne(options, command, (pool) => pool.circles(radii, options.pi));
  if (!result) return;
  if (options.json) await writeJson({ radii, lengths: result.lengths, areas: result.areas });
  else {
    await writeText(
      `${textTable(
        ["radius", "length", "area"],
        radii.map((r, i) => [r, result.lengths[i]!, result.areas[i]!]),
      )}\n(on ${result.servedBy.server})`,
    );
  }
}

export async function meansCommand(options: CommonOptions & { lists: string }, command: Command) {
  const lists = parseLists(options.lists);
  const result = await runOne(options, command, (pool) => pool.means(lists));
  if (!result) return;
  if (options.json) await writeJson({ means: result.means });
  else {
    await writeText(
      `${textTable(
        ["list", "mean"],
        lists.map((list, i) => [JSON.stringify(list), result.means[i]!]),
      )}\n(on ${result.servedBy.server})`,
    );
  }
}
