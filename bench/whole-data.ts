// The tables of the whole-process figures, written once into a cache directory and reused by later
// runs (checked by size): four ~105 MB tables of the lesson's pattern, the lesson's ten tables,
// and many small ones. Generated data never goes into the repository.
import { createWriteStream, mkdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finished } from "node:stream/promises";

/**
 * The lesson's 7-row pattern (a copy of the one in src/lesson/compute/lesson-table.ts, so the bench does
 * not depend on where that module lives); each row's 10 values repeat 4 times to make 40 columns.
 */
export const pattern: readonly (readonly number[])[] = [
  [10, 2, 3, 6, 8, 7, 2, 20, 3, 45],
  [1, 4, 12, 11, 31, 55, 91, 9, 43, 4],
  [2, 5, 1, 98, 45, 23, 23, 18, 21, 33],
  [4, 89, 65, 67, 67, 4, 45, 33, 11, 8],
  [5, 23, 23, 45, 8, 564, 62, 56, 45, 12],
  [7, 34, 21, 65, 23, 34, 23, 78, 78, 67],
  [9, 23, 4, 2, 1, 2, 5, 3, 34, 23],
];

const lines = pattern.map((values) => `${Array(4).fill(values.join(";")).join(";")}\n`);
const cycle = Buffer.from(lines.join(""));

/** The lesson's table of `rows` rows, cycling through the pattern. */
export function patternTable(rows: number): Buffer {
  const whole = Math.floor(rows / lines.length);
  return Buffer.from(lines.join("").repeat(whole) + lines.slice(0, rows % lines.length).join(""));
}

/** The first column's sum of a table of `rows` rows (an integer: exact in float64). */
export function firstColumnSum(rows: number): number {
  let sum = 0;
  for (let r = 0; r < rows; r++) sum += pattern[r % pattern.length]![0]!;
  return sum;
}

/** Whole 7-row cycles, at least `bytes` bytes. */
export function rowsFor(bytes: number): number {
  return Math.ceil(bytes / cycle.length) * pattern.length;
}

async function writeTable(path: string, rows: number): Promise<void> {
  const whole = rows / pattern.length;
  const block = Buffer.from(cycle.toString().repeat(10_000));
  const out = createWriteStream(path);
  for (let done = 0; done < whole; ) {
    const cycles = Math.min(10_000, whole - done);
    if (!out.write(cycles === 10_000 ? block : block.subarray(0, cycles * cycle.length)))
      await new Promise<void>((resolve) => out.once("drain", () => resolve()));
    done += cycles;
  }
  out.end();
  await finished(out);
}

const sizeOf = (path: string) => {
  try {
    return statSync(path).size;
  } catch {
    return -1;
  }
};

export interface BenchData {
  dir: string;
  /** Four tables of ~105 MB each (whole cycles of the pattern), and their row count each. */
  big: string[];
  bigRows: number;
  bigBytes: number;
  /** The lesson's ten tables, 10,100 rows each. */
  lesson: string[];
  lessonRows: number;
  /** Many small tables: the lesson's table 100 times. */
  small: string[];
}

/**
 * The data, in `RPCPOOL_BENCH_DATA` or `$TMPDIR/rpcpool-bench-data`, written where missing or of
 * the wrong size. `say` reports what is written.
 */
export async function benchData(say: (line: string) => void, bigMB = 105): Promise<BenchData> {
  const dir = process.env.RPCPOOL_BENCH_DATA ?? join(tmpdir(), "rpcpool-bench-data");
  mkdirSync(join(dir, "lesson"), { recursive: true });
  mkdirSync(join(dir, "small"), { recursive: true });
  const bigRows = rowsFor(bigMB * 1e6);
  const bigBytes = (bigRows / pattern.length) * cycle.length;
  const big = [0, 1, 2, 3].map((i) => join(dir, `big-${i}.csv`));
  for (const path of big) {
    if (sizeOf(path) === bigBytes) continue;
    say(`  writing ${path} (${(bigBytes / 1e6).toFixed(0)} MB)`);
    await writeTable(path, bigRows);
  }
  const lessonRows = 10_100;
  const lessonBytes = patternTable(lessonRows);
  const lesson = Array.from({ length: 10 }, (_, i) =>
    join(dir, "lesson", `tabla_${String(i).padStart(2, "0")}.csv`),
  );
  const small = Array.from({ length: 100 }, (_, i) =>
    join(dir, "small", `s${String(i).padStart(3, "0")}.csv`),
  );
  for (const path of [...lesson, ...small])
    if (sizeOf(path) !== lessonBytes.length) writeFileSync(path, lessonBytes);
  return { dir, big, bigRows, bigBytes, lesson, lessonRows, small };
}
