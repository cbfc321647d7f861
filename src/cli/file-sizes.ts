import { stat } from "node:fs/promises";

/** Total bytes of the files that exist (for progress; a missing file is reported by its task). */
export async function fileSizes(files: string[]): Promise<number> {
  const sizes = await Promise.all(
    files.map((file) =>
      stat(file).then(
        (s) => s.size,
        () => 0,
      ),
    ),
  );
  return sizes.reduce((a, b) => a + b, 0);
}
