import { describe, expect, it } from "vitest";
import { seeded } from "../exact/seeded-random.js";
import { readOptionsFrom } from "./read-options.js";
import { scanTable, type TableSink } from "./table-scanner.js";

/**
 * The scanner's single-pass path takes plain decimals of at most 15 digits (integer / 10^k,
 * Clinger's exact case); everything else goes on to parseNumber. Either way each cell must be
 * Number()'s value, bit for bit, and the cells after it must be read from the right place.
 */
function cellsOf(text: string, options: Parameters<typeof readOptionsFrom>[0] = {}): number[] {
  const values: number[] = [];
  const sink: TableSink = {
    byCell: true,
    cell: (_column, value) => {
      values.push(value);
    },
    row: () => {},
  };
  const shape = scanTable(Buffer.from(text, "latin1"), readOptionsFrom(options), sink);
  expect(shape.error).toBeUndefined();
  return values;
}

/** A decimal of 1 to 20 digits (leading zeros included) with the point anywhere, or none. */
function decimalCell(random: () => number): string {
  const length = 1 + Math.floor(random() * 20);
  let digits = "";
  while (digits.length < length) digits += String(Math.floor(random() * 10));
  const point = Math.floor(random() * (length + 1));
  const sign = ["", "-", "+"][Math.floor(random() * 3)]!;
  if (point === 0) return `${sign}${digits}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

describe("plain decimals on the scanner's single pass", () => {
  it.each([
    ["1.5;-0.0;0.00072931;5.;-1234.5678901", [1.5, -0, 0.00072931, 5, -1234.5678901]],
    ["123456789012.345;1234567890123.456;0.1\r\n", [123456789012.345, 1234567890123.456, 0.1]],
    ["1.5e3;.5;1.5 ;-7.25", [1500, 0.5, 1.5, -7.25]],
  ])("reads %j", (text, expected) => {
    const values = cellsOf(`${text}\n`);
    expect(values.map((v, i) => Object.is(v, expected[i]))).toEqual(expected.map(() => true));
  });

  it("gives Number()'s value for 300,000 random decimals, with `.` and with `,`", () => {
    const random = seeded(15);
    for (const decimal of [".", ","]) {
      const rows: string[][] = [];
      for (let r = 0; r < 25_000; r++) rows.push(Array.from({ length: 6 }, () => decimalCell(random)));
      // The last line without its LF: the careful path must agree.
      const text = rows
        .map((cells) => cells.join(";").replaceAll(".", decimal))
        .join(random() < 0.5 ? "\n" : "\r\n");
      const values = cellsOf(text, { decimal });
      const expected = rows.flat().map(Number);
      const wrong = values.flatMap((v, i) => (Object.is(v, expected[i]) ? [] : [`${rows.flat()[i]}: ${v}`]));
      expect(wrong.slice(0, 10)).toEqual([]);
      expect(values.length).toBe(expected.length);
    }
  });
});
