import { mkdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { lessonTableBytes } from "../compute/lesson-table.js";

export const lessonFileNames = Array.from(
  { length: 10 },
  (_, i) => `tabla_${String(i).padStart(2, "0")}.csv`,
);

/**
 * The lesson's ten tables (10100 x 40, identical, as in the lesson) in dir, written only where
 * missing or of the wrong size. Returns their paths.
 */
export async function ensureLessonTables(dir: string, rows = 10100): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const bytes = lessonTableBytes(rows);
  const paths = lessonFileNames.map((name) => join(dir, name));
  for (const path of paths) {
    const size = await stat(path).then(
      (s) => s.size,
      () => -1,
    );
    if (size !== bytes.byteLength) await writeFile(path, bytes);
  }
  return paths;
}
