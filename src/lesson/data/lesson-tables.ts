import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { lessonTableBytes } from "../compute/lesson-table.js";

export const lessonFileNames = Array.from(
  { length: 10 },
  (_, i) => `tabla_${String(i).padStart(2, "0")}.csv`,
);

/** A folder rpcpool will not write the lesson's tables into: it holds files of someone else's. */
export class LessonDataRefused extends Error {
  override name = "LessonDataRefused";
}

export interface EnsureOptions {
  /** Told of the tables about to be generated (paths), before any is written. */
  onGenerate?: (paths: string[]) => void;
}

/**
 * The lesson's ten tables (10100 x 40, identical, as in the lesson) in dir. A table already there
 * is used as it is, never overwritten: it may be a person's own. Missing tables are generated only
 * into a new or empty folder, or one rpcpool made: one that holds nothing but the lesson's tables
 * as rpcpool generates them. Any other folder with tables missing is refused (LessonDataRefused).
 * Returns the ten paths.
 */
export async function ensureLessonTables(dir: string, rows = 10100, options: EnsureOptions = {}) {
  await mkdir(dir, { recursive: true });
  const entries = await readdir(dir);
  const paths = lessonFileNames.map((name) => join(dir, name));
  const missing = lessonFileNames.filter((name) => !entries.includes(name));
  if (missing.length === 0) return paths;
  const bytes = lessonTableBytes(rows);
  if (!(await madeByRpcpool(dir, entries, bytes))) {
    throw new LessonDataRefused(
      `${dir} holds files of its own and lacks ${missing.join(", ")}: rpcpool generates the lesson's ` +
        "tables only into an empty folder or one it made (give --data a new folder)",
    );
  }
  options.onGenerate?.(missing.map((name) => join(dir, name)));
  for (const name of missing) {
    // Written aside and renamed: an interrupted run leaves no half table behind.
    const path = join(dir, name);
    await writeFile(`${path}.part`, bytes);
    await rename(`${path}.part`, path);
  }
  return paths;
}

async function madeByRpcpool(dir: string, entries: string[], bytes: Uint8Array): Promise<boolean> {
  for (const entry of entries) {
    if (entry.endsWith(".part") && lessonFileNames.includes(entry.slice(0, -5))) continue;
    if (!lessonFileNames.includes(entry)) return false;
    const content = await readFile(join(dir, entry));
    if (!content.equals(bytes)) return false;
  }
  return true;
}
