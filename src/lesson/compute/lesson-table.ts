/** The lesson's 7-row pattern; each row's 10 values repeat 4 times to make 40 columns. */
export const lessonPattern: readonly (readonly number[])[] = [
  [10, 2, 3, 6, 8, 7, 2, 20, 3, 45],
  [1, 4, 12, 11, 31, 55, 91, 9, 43, 4],
  [2, 5, 1, 98, 45, 23, 23, 18, 21, 33],
  [4, 89, 65, 67, 67, 4, 45, 33, 11, 8],
  [5, 23, 23, 45, 8, 564, 62, 56, 45, 12],
  [7, 34, 21, 65, 23, 34, 23, 78, 78, 67],
  [9, 23, 4, 2, 1, 2, 5, 3, 34, 23],
];

/** The lesson's table: `rows` rows cycling through the pattern, `;`-separated, no header. */
export function lessonTableBytes(rows = 10100): Buffer {
  const lines = lessonPattern.map((values) => `${Array(4).fill(values.join(";")).join(";")}\n`);
  const cycle = lines.join("");
  const whole = Math.floor(rows / lines.length);
  return Buffer.from(cycle.repeat(whole) + lines.slice(0, rows % lines.length).join(""));
}

/** The exact column sums of `lessonTableBytes(rows)`: integers, so float64 holds them exactly. */
export function lessonColumnSums(rows = 10100): number[] {
  const sums = new Array<number>(10).fill(0);
  for (let r = 0; r < rows; r++) {
    const values = lessonPattern[r % lessonPattern.length]!;
    for (let c = 0; c < values.length; c++) sums[c]! += values[c]!;
  }
  return [...sums, ...sums, ...sums, ...sums];
}
