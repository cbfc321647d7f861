import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nearestDouble, toScaled } from "../../exact/bigint-reference.js";
import { ExactSum } from "../../exact/exact-sum.js";
import { addWire } from "../../exact/exact-wire.js";
import { seeded } from "../../exact/seeded-random.js";
import { sumTablePiece } from "../../lesson/compute/sum-table-piece.js";
import { readOptionsFrom } from "../read-options.js";
import { DecimalSumKernel } from "./decimal-sum-kernel.js";
import { IntSumKernel } from "./int-sum-kernel.js";

// Both kernels must be built (npm run build): without them every piece would take the JS path and
// the comparisons below would compare the JS path with itself.
const ints = IntSumKernel.load();
const decimals = ints && DecimalSumKernel.load(ints);

/** The decimal kernel's own answer on a piece: undefined when it passes the piece on. */
function byDecimalKernel(text: string, delimiter = 0x3b, decimal = 0x2e) {
  const bytes = Buffer.from(text, "latin1");
  ints!.copyIn(bytes);
  return decimals!.sumCopied(bytes.length, delimiter, decimal);
}

const digitString = (min: number, max: number) =>
  fc.array(fc.integer({ min: 0, max: 9 }), { minLength: min, maxLength: max }).map((d) => d.join(""));

/** A decimal as exporters write it: sign, digits, a point, digits, maybe an exponent. */
const plainCell = fc
  .tuple(
    fc.constantFrom("", "-", "+"),
    digitString(1, 12),
    fc.option(digitString(0, 12)),
    fc.option(
      fc.tuple(fc.constantFrom("e", "E"), fc.constantFrom("", "-", "+"), fc.integer({ min: 0, max: 40 })),
    ),
  )
  .map(
    ([sign, whole, fraction, exponent]) =>
      `${sign}${whole}${fraction === null ? "" : `.${fraction}`}${exponent === null ? "" : exponent.join("")}`,
  );

/**
 * Decimals on the edge of a rounding: the exact midpoint between a double and the next, cut to 17
 * to 25 significant digits, and one unit above or below in its last digit. Clinger's case,
 * Eisel-Lemire's second product, its halfway case and the JS path's Number() all meet here.
 */
const borderCell = fc
  .tuple(
    fc.double({ min: 1e-30, max: 1e30, noNaN: true }),
    fc.integer({ min: 17, max: 25 }),
    fc.integer({ min: -1, max: 1 }),
  )
  .map(([x, keep, nudge]) => {
    // x = m * 2^e exactly; the midpoint (2m + 1) * 2^(e - 1) as digits * 10^-k.
    const scaled = toScaled(x) * 2n + 1n; // midpoint in units of 2^-1075
    const digits = (scaled * 5n ** 1075n).toString(); // times 10^-1075
    let cut = BigInt(digits.slice(0, keep)) + BigInt(nudge);
    if (cut <= 0n) cut = 1n;
    const exponent = digits.length - keep - 1075;
    return `${cut}e${exponent}`;
  });

/** Fixed cells at known edges: 2^53 and past, Clinger's limits, subnormals, float64's end. */
const edgeCell = fc.constantFrom(
  "9007199254740993",
  "9007199254740992.5",
  "18014398509481985",
  "1e22",
  "1e23",
  "123e-22",
  "1e-23",
  "0.1",
  "-0.0",
  "0e999",
  "4.9e-324",
  "2.2250738585072011e-308",
  "1.7976931348623157e308",
  "99999999999999999999",
  "1.00000000000000011102230246251565404236316680908203125",
  "0.000000000000000000000000000000000000001",
);

/** What breaks the grammar somewhere: each must give the JS path's very refusal or result. */
const flaw = fc.constantFrom(
  '"',
  " ",
  "e",
  ".",
  "1e",
  "+.",
  "..",
  "x",
  "--1",
  "\r",
  "\n",
  "\n\n",
  ";",
  "1e999",
  "\uFEFF",
);

const dialect = fc.constantFrom(
  { delimiter: ";", decimal: "." },
  { delimiter: ",", decimal: "." },
  { delimiter: "\t", decimal: "," },
  { delimiter: ";", decimal: "," },
);

const table = fc.record({
  dialect,
  newline: fc.constantFrom("\n", "\r\n"),
  rows: fc.array(fc.array(fc.oneof(plainCell, borderCell, edgeCell), { minLength: 3, maxLength: 3 }), {
    maxLength: 25,
  }),
  width: fc.integer({ min: 1, max: 3 }),
  lastNewline: fc.boolean(),
  flaws: fc.array(fc.tuple(fc.nat(), flaw), { maxLength: 2 }),
  startsFile: fc.boolean(),
  header: fc.boolean(),
});

type Table = typeof table extends fc.Arbitrary<infer T> ? T : never;

function textOf(t: Table): string {
  const { delimiter, decimal } = t.dialect;
  let text = t.rows
    .map((r) =>
      r
        .slice(0, t.width)
        .map((cell) => cell.replace(".", decimal))
        .join(delimiter),
    )
    .join(t.newline);
  if (t.rows.length > 0 && t.lastNewline) text += t.newline;
  for (const [at, bad] of t.flaws) {
    const i = text.length === 0 ? 0 : at % (text.length + 1);
    text = text.slice(0, i) + bad.replace(";", delimiter) + text.slice(i);
  }
  return text;
}

/** The decimal string's exact value as n / d units of 2^-1074, for the independent BigInt rounding. */
function exactRatio(cell: string): [bigint, bigint] {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(cell)!;
  const [, sign, whole, fraction = "", exponent = "0"] = match;
  let n = BigInt(`${whole}${fraction}` || "0") << 1074n;
  if (sign === "-") n = -n;
  const k = Number(exponent) - fraction.length;
  return k >= 0 ? [n * 10n ** BigInt(k), 1n] : [n, 10n ** BigInt(-k)];
}

describe("the Wasm decimal kernel", () => {
  it("is built and reads each cell as the double nearest to it (BigInt reference), edges included", () => {
    expect(decimals).toBeDefined();
    fc.assert(
      fc.property(fc.oneof(plainCell, borderCell, edgeCell), (cell) => {
        const [n, d] = exactRatio(cell);
        const nearest = nearestDouble(n, d);
        fc.pre(Number.isFinite(nearest));
        const found = byDecimalKernel(`${cell}\n`);
        expect(found?.rows).toBe(1);
        // == rather than Object.is: a column's sum of -0 is 0, as on the JS path.
        expect(found!.sums[0]!.value() === nearest).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it("gives the JS path's pieces bit for bit: sums, shape and every refusal", () => {
    fc.assert(
      fc.property(table, (t) => {
        const bytes = Buffer.from(textOf(t), "latin1");
        const options = { ...readOptionsFrom({ ...t.dialect, header: t.header }), startsFile: t.startsFile };
        expect(sumTablePiece(bytes, options)).toEqual(sumTablePiece(bytes, options, "js"));
      }),
      { numRuns: 2000 },
    );
  });

  it("handles the plain decimal tables itself, not only passes them on", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.oneof(plainCell, borderCell), { minLength: 4, maxLength: 4 }), {
          minLength: 1,
          maxLength: 30,
        }),
        fc.constantFrom("\n", "\r\n"),
        (rows, newline) => {
          const text = rows.map((r) => r.join(";")).join(newline) + newline;
          const found = byDecimalKernel(text);
          expect(found?.rows).toBe(rows.length);
          for (let c = 0; c < 4; c++) {
            const reference = rows.reduce((s, r) => s + toScaled(Number(r[c])), 0n);
            const { n, exp } = found!.sums[c]!.scaled();
            expect(exp >= -1074 ? n << BigInt(exp + 1074) : n >> BigInt(-1074 - exp)).toBe(reference);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("sums 10^6 random decimals exactly, whatever the split, with the JS path's pieces (flushes included)", () => {
    const random = seeded(2121);
    const columns = 4;
    const rows = 250_000;
    const reference = Array.from({ length: columns }, () => 0n);
    const lines: string[] = [];
    for (let r = 0; r < rows; r++) {
      const cells: string[] = [];
      for (let c = 0; c < columns; c++) {
        // 1 to 19 significant digits, magnitudes 1e-12..1e15, both signs, both notations.
        const digits = 1 + Math.floor(random() * 19);
        let significand = String(1 + Math.floor(random() * 9));
        while (significand.length < digits) significand += String(Math.floor(random() * 10));
        const exponent = Math.floor(random() * 28) - 12;
        const sign = random() < 0.5 ? "-" : "";
        const cell =
          random() < 0.3
            ? `${sign}${significand[0]}.${significand.slice(1)}e${exponent}`
            : `${sign}${(Number(`${significand}e${exponent - digits + 1}`) || 0).toString()}`;
        cells.push(cell);
        reference[c]! += toScaled(Number(cell));
      }
      lines.push(cells.join(";"));
    }
    const text = Buffer.from(`${lines.join("\n")}\n`);
    const options = readOptionsFrom({});
    // Two splits: pieces of about 1 MiB and about 300 kB, cut at line ends; the first checked
    // against the JS path piece by piece.
    for (const [size, compare] of [
      [1 << 20, true],
      [300_000, false],
    ] as const) {
      const totals = Array.from({ length: columns }, () => new ExactSum());
      for (let offset = 0; offset < text.length; ) {
        let end = Math.min(text.length, offset + size);
        end = end === text.length ? end : text.indexOf(10, end) + 1;
        const piece = text.subarray(offset, end);
        const pieceOptions = { ...options, startsFile: offset === 0 };
        const found = byDecimalKernel(piece.toString("latin1"));
        expect(found).toBeDefined();
        const result = sumTablePiece(piece, pieceOptions);
        if (compare) expect(result).toEqual(sumTablePiece(piece, pieceOptions, "js"));
        result.sums.forEach((wire, c) => {
          addWire(totals[c]!, wire);
        });
        offset = end;
      }
      totals.forEach((total, c) => {
        const { n, exp } = total.scaled();
        expect(exp >= -1074 ? n << BigInt(exp + 1074) : n >> BigInt(-1074 - exp)).toBe(reference[c]);
      });
    }
  }, 60_000);
});
