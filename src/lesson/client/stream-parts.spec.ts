import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type StreamPart, streamParts } from "./stream-parts.js";
import type { ReadInto } from "./table-input.js";

/** A stream of `bytes` that gives at most `most` bytes a read, as a pipe gives what it holds. */
function reader(bytes: Buffer, most: number): ReadInto {
  let at = 0;
  return async (buffer, offset, length) => {
    const n = bytes.copy(buffer, offset, at, Math.min(bytes.length, at + Math.min(most, length)));
    at += n;
    return n;
  };
}

async function partsOf(
  bytes: Buffer,
  partBytes: number,
  most: number,
  header = false,
): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for await (const part of streamParts(reader(bytes, most), { partBytes, header })) parts.push(part);
  return parts;
}

const count = (bytes: Buffer, end: number, byte: number) => {
  let n = 0;
  for (let i = 0; i < end; i++) if (bytes[i] === byte) n++;
  return n;
};

// Rows of numbers and quoted text, some quoted cells holding newlines, delimiters and doubled quotes.
const cell = fc.oneof(
  fc.integer({ min: -999, max: 99_999 }).map(String),
  fc.constantFrom('"a\nb"', '"x;""y""\n\nz"', '"7"', '""'),
);
const row = fc.array(cell, { minLength: 3, maxLength: 3 }).map((cells) => cells.join(";"));
const table = fc
  .tuple(fc.array(row, { minLength: 0, maxLength: 300 }), fc.constantFrom("\n", "\r\n"))
  .map(([rows, end]) => Buffer.from(rows.map((r) => r + end).join("")));

describe("streamParts", () => {
  it("cuts only at rows' ends outside quotes, keeps every byte, and counts each part's first line", async () => {
    await fc.assert(
      fc.asyncProperty(
        table,
        fc.integer({ min: 1, max: 4000 }),
        fc.integer({ min: 1, max: 70_000 }),
        async (bytes, partBytes, most) => {
          const parts = await partsOf(bytes, partBytes, most);
          expect(Buffer.concat(parts.flatMap((p) => p.content)).equals(bytes)).toBe(true);
          expect(parts.at(-1)!.last).toBe(true);
          let start = 0;
          for (const { part, bytes: size, last } of parts) {
            expect(part.start).toBe(start);
            expect(part.end - part.start).toBe(size);
            expect(part.firstLine).toBe(1 + count(bytes, part.start, 0x0a));
            if (!last) {
              expect(bytes[part.end - 1]).toBe(0x0a);
              expect(count(bytes, part.end, 0x22) % 2).toBe(0);
            }
            start = part.end;
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("an empty stream is one empty part, the last", async () => {
    const parts = await partsOf(Buffer.alloc(0), 1024, 1024);
    expect(parts.map((p) => [p.part.start, p.part.end, p.last])).toEqual([[0, 0, true]]);
  });

  it("reads the header and the width from the first bytes, after a byte-order mark", async () => {
    const text = `\ufeff"a";b;"c\nd"\n${"1;2;3\n".repeat(20_000)}`;
    const parts = await partsOf(Buffer.from(text), 30_000, 65_536, true);
    expect(parts.length).toBeGreaterThanOrEqual(2);
    expect(parts[0]!.head).toMatchObject({ header: ["a", "b", "c\nd"], width: 3, quoted: true });
    expect(parts.every((p) => p.part.columns === 3)).toBe(true);
  });
});
