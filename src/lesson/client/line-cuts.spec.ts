import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { readOptionsFrom } from "../../csv/read-options.js";
import { scanTable } from "../../csv/table-scanner.js";
import { cutAtLines, linesBefore, tableHead } from "./line-cuts.js";
import { autoPartSizes, planSplit } from "./split-plan.js";

const dir = mkdtempSync(join(tmpdir(), "line-cuts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (text: string) => {
  const path = join(dir, `t${n++}.csv`);
  writeFileSync(path, text);
  return path;
};

const line = fc.oneof(
  fc.constantFrom("", "  ", "\r", "h;h"),
  fc
    .array(fc.integer({ min: -999, max: 99_999 }), { minLength: 1, maxLength: 6 })
    .map((cells) => cells.join(";")),
);

describe("cutAtLines", () => {
  it("cuts where the counting plan cuts, with the same width, reading only windows", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { minLength: 1, maxLength: 200 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 300 }),
        fc.boolean(),
        async (lines, bom, partBytes, header) => {
          const text = (bom ? "\ufeff" : "") + lines.join("\n");
          const path = file(text);
          const size = Buffer.byteLength(text);
          const cut = await cutAtLines(path, size, partBytes, { header });
          const counted = await planSplit(path, { partBytes, header });
          expect(cut.map((p) => [p.start, p.end, p.columns])).toEqual(
            counted.map((p) => [p.start, p.end, p.columns]),
          );
          expect(cut.every((p) => p.firstLine === 0 && p.rows === undefined)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("counts the lines before a part, for placing a refusal in the whole file", async () => {
    const path = file("a\nb\n\nc\n");
    expect(await linesBefore(path, 0)).toBe(0);
    expect(await linesBefore(path, 2)).toBe(1);
    expect(await linesBefore(path, 5)).toBe(3);
  });
});

describe("planSplit over quoted cells", () => {
  const cell = fc.oneof(
    fc.integer({ min: -99, max: 999 }).map(String),
    fc.integer({ min: 0, max: 99 }).map((v) => `"${v}"`),
    fc.constantFrom('"a;b"', '"x\ny"', '"\n\n"', '"say ""hi""\n"', '""'),
  );
  const row = fc.array(cell, { minLength: 3, maxLength: 3 }).map((cells) => cells.join(";"));

  it("cuts only at rows' ends, counts rows and lines as the scanner reads them", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(row, { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 200 }),
        async (rows, partBytes) => {
          const text = `"h;1";"h""2";"h\n3"\n${rows.join("\n")}\n`;
          const path = file(text);
          const parts = await planSplit(path, { partBytes, header: true });
          const bytes = Buffer.from(text);
          let lines = 0;
          let total = 0;
          for (const part of parts) {
            expect(part.firstLine).toBe(lines + 1);
            const options = {
              ...readOptionsFrom({ header: true }),
              startsFile: part.start === 0,
              select: [],
            };
            const shape = scanTable(bytes.subarray(part.start, part.end), options, {
              byCell: true,
              cell: () => {},
              row: () => {},
            });
            // The cells are not all numbers, but every part is whole rows: no quote is left open.
            expect(shape.error?.message ?? "").not.toMatch(/not closed/);
            if (!shape.error) {
              expect(shape.rows).toBe(part.rows);
              expect(shape.lines).toBe(
                bytes.subarray(part.start, part.end).toString().split("\n").length - 1,
              );
            }
            lines += bytes.subarray(part.start, part.end).toString().split("\n").length - 1;
            total += part.rows ?? 0;
          }
          expect(total).toBe(rows.length);
          expect(parts.every((p) => p.columns === 3)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("reads a quoted header's names, and says the head quotes", async () => {
    const path = file('\ufeff\n"a;1";" b ";"c ""x""\nd"\n1;2;3\n');
    expect(await tableHead(path, { header: true })).toEqual({
      header: ["a;1", "b", 'c "x"\nd'],
      width: 3,
      quoted: true,
    });
    expect(await tableHead(file("1;2\n"), {})).toEqual({ header: undefined, width: 2, quoted: false });
  });
});

describe("autoPartSizes", () => {
  const MB = 1 << 20;
  it("keeps files whole when there are enough of them for the servers", () => {
    expect(autoPartSizes([105 * MB, 105 * MB, 105 * MB, 105 * MB], 2)).toEqual(Array(4).fill(undefined));
    expect(autoPartSizes([105 * MB, 105 * MB, 105 * MB, 105 * MB], 4).every((p) => p === undefined)).toBe(
      true,
    );
  });

  it("cuts one big file into about two parts per server, and not for one server", () => {
    const [part] = autoPartSizes([420 * MB], 2);
    expect(Math.ceil((420 * MB) / part!)).toBe(4);
    expect(autoPartSizes([420 * MB], 1)).toEqual([undefined]);
  });

  it("cuts when a file would otherwise run alone at the end", () => {
    expect(autoPartSizes([105 * MB, 105 * MB, 105 * MB], 2).every((p) => p !== undefined)).toBe(true);
  });

  it("never cuts small files", () => {
    expect(autoPartSizes(Array(50).fill(MB), 4).every((p) => p === undefined)).toBe(true);
    expect(autoPartSizes([20 * MB], 8)).toEqual([undefined]);
  });
});
