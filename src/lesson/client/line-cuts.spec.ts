import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { cutAtLines, linesBefore } from "./line-cuts.js";
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

describe("autoPartSizes", () => {
  const MB = 1 << 20;
  it("keeps files whole when there are enough of them for the slots", () => {
    expect(autoPartSizes([105 * MB, 105 * MB, 105 * MB, 105 * MB], 2)).toEqual(Array(4).fill(undefined));
    expect(autoPartSizes([105 * MB, 105 * MB, 105 * MB, 105 * MB], 4).every((p) => p === undefined)).toBe(
      true,
    );
  });

  it("cuts one big file into about two parts per slot", () => {
    const [part] = autoPartSizes([420 * MB], 2);
    expect(Math.ceil((420 * MB) / part!)).toBe(4);
  });

  it("cuts when a file would otherwise run alone at the end", () => {
    expect(autoPartSizes([105 * MB, 105 * MB, 105 * MB], 2).every((p) => p !== undefined)).toBe(true);
  });

  it("never cuts small files", () => {
    expect(autoPartSizes(Array(50).fill(MB), 4).every((p) => p === undefined)).toBe(true);
    expect(autoPartSizes([20 * MB], 8)).toEqual([undefined]);
  });
});
