import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lessonTableBytes } from "../../lesson/compute/lesson-table.js";
import { sumTablePiece } from "../../lesson/compute/sum-table-piece.js";
import { readOptionsFrom } from "../read-options.js";
import { IntSumKernel } from "./int-sum-kernel.js";

// The kernel must be built (npm run build): without it every piece would take the JS path and
// the comparisons below would compare the JS path with itself.
const kernel = IntSumKernel.load();

/** An integer cell as a person writes it: sign or not, leading zeros, 1 to 18 digits. */
const integerCell = fc.oneof(
  fc.integer({ min: -999, max: 999 }).map(String),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }).map((n) => (n >= 0 && n % 3 === 0 ? `+${n}` : String(n))),
  // 15 digits: the longest the kernel takes; ten of them carry a sum past 2^53.
  fc.constantFrom("999999999999999", "-999999999999999", "900719925474099", "-0", "+0", "007"),
  // 16 to 18 digits: the JS path's, which rounds what a double cannot hold.
  fc.bigInt({ min: 10n ** 15n, max: 10n ** 18n - 1n }).map((n) => (n % 2n === 0n ? `-${n}` : String(n))),
);

/** 15-digit cells, mostly positive: a few rows of them carry a column's sum past 2^53, or near it. */
const bigCell = fc
  .tuple(fc.integer({ min: 0, max: 10 ** 6 }), fc.integer({ min: 0, max: 9 }))
  .map(([n, sign]) => `${sign === 0 ? "-" : ""}${10 ** 15 - 1 - n}`);

/** What breaks the simple grammar somewhere: each must give the JS path's very refusal or result. */
const flaw = fc.constantFrom('"', "1.5", "1e3", "", " 7", "x", "--1", "+", "\r", "\n", "\n\n", ";", "\uFEFF");

const table = fc.record({
  delimiter: fc.constantFrom(";", ",", "\t", "|"),
  newline: fc.constantFrom("\n", "\r\n"),
  rows: fc.oneof(
    fc.array(fc.array(integerCell, { minLength: 3, maxLength: 3 }), { maxLength: 25 }),
    fc.array(fc.array(bigCell, { minLength: 3, maxLength: 3 }), { minLength: 5, maxLength: 25 }),
  ),
  width: fc.integer({ min: 1, max: 3 }),
  lastNewline: fc.boolean(),
  flaws: fc.array(fc.tuple(fc.nat(), flaw), { maxLength: 2 }),
  startsFile: fc.boolean(),
  header: fc.boolean(),
});

type Table = typeof table extends fc.Arbitrary<infer T> ? T : never;

function textOf(t: Table): string {
  const delimiter = t.delimiter;
  let text = t.rows.map((r) => r.slice(0, t.width).join(delimiter)).join(t.newline);
  if (t.rows.length > 0 && t.lastNewline) text += t.newline;
  for (const [at, bad] of t.flaws) {
    const i = text.length === 0 ? 0 : at % (text.length + 1);
    text = text.slice(0, i) + bad.replace(";", delimiter) + text.slice(i);
  }
  return text;
}

describe("the Wasm integer kernel", () => {
  it("is built and sums the lesson's table", () => {
    expect(kernel).toBeDefined();
    const bytes = lessonTableBytes(700);
    const found = kernel!.sum(bytes, 0x3b);
    expect(found?.rows).toBe(700);
    const options = readOptionsFrom({});
    expect(sumTablePiece(bytes, options)).toEqual(sumTablePiece(bytes, options, "js"));
  });

  it("gives the JS path's pieces bit for bit: sums, shape and every refusal", () => {
    fc.assert(
      fc.property(table, (t) => {
        const bytes = Buffer.from(textOf(t), "latin1");
        const options = {
          ...readOptionsFrom({ delimiter: t.delimiter, header: t.header }),
          startsFile: t.startsFile,
        };
        expect(sumTablePiece(bytes, options)).toEqual(sumTablePiece(bytes, options, "js"));
      }),
      { numRuns: 2000 },
    );
  });

  it("handles the tables of the simple grammar itself, not only passes them on", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: -(10 ** 12), max: 10 ** 12 }), { minLength: 4, maxLength: 4 }), {
          minLength: 1,
          maxLength: 50,
        }),
        fc.constantFrom("\n", "\r\n"),
        (rows, newline) => {
          const bytes = Buffer.from(rows.map((r) => r.join(";")).join(newline) + newline);
          const found = kernel!.sum(bytes, 0x3b);
          expect(found?.rows).toBe(rows.length);
          expect(Array.from(found!.sums)).toEqual(
            [0, 1, 2, 3].map((c) => rows.reduce((s, r) => s + r[c]!, 0)),
          );
        },
      ),
    );
  });

  it("leaves sums that reach 2^53 to the JS path, which then equals it", () => {
    const bytes = Buffer.from("999999999999999;1\n".repeat(12));
    expect(kernel!.sum(bytes, 0x3b)).toBeUndefined();
    const options = readOptionsFrom({});
    expect(sumTablePiece(bytes, options)).toEqual(sumTablePiece(bytes, options, "js"));
  });

  it("grows its memory for a piece larger than it had", () => {
    const bytes = lessonTableBytes(7 * 3000);
    expect(kernel!.sum(bytes, 0x3b)?.rows).toBe(7 * 3000);
    expect(kernel!.sum(Buffer.from("1;2\n"), 0x3b)?.sums).toEqual(new Float64Array([1, 2]));
  });
});
