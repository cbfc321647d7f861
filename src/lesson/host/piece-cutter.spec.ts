import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { cutPieces, readPieces } from "./piece-cutter.js";

async function pieces(chunks: Uint8Array[], target: number, maxLine = 1 << 20) {
  async function* source() {
    yield* chunks;
  }
  const out: Uint8Array[] = [];
  for await (const piece of cutPieces(source(), target, maxLine)) out.push(piece);
  return out;
}

const chunked = (text: string, sizes: number[]) => {
  const bytes = Buffer.from(text);
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = Math.max(1, sizes[i % sizes.length]!);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
};

describe("cutPieces", () => {
  it("keeps every byte, cuts only after a newline, and hands out pieces that own their memory", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.stringMatching(/^[0-9;]{0,30}$/), { maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 200 }),
        fc.boolean(),
        async (lines, sizes, target, lastNewline) => {
          const text = lines.join("\n") + (lastNewline && lines.length > 0 ? "\n" : "");
          const out = await pieces(chunked(text, sizes), target);
          expect(Buffer.concat(out).toString()).toBe(text);
          out.slice(0, -1).forEach((piece) => {
            expect(piece.at(-1)).toBe(0x0a);
            expect(piece.byteLength).toBeGreaterThanOrEqual(1);
          });
          for (const piece of out) {
            expect(piece.byteOffset).toBe(0);
            expect(piece.buffer.byteLength).toBe(piece.byteLength);
          }
        },
      ),
    );
  });

  it("refuses a line longer than the limit with RESOURCE_EXHAUSTED", async () => {
    const long = chunked(`${"1".repeat(5000)}\n`, [100]);
    await expect(pieces(long, 64, 1000)).rejects.toMatchObject({ code: 8 });
    expect((await pieces(long, 64, 10_000)).map((p) => p.byteLength)).toEqual([5001]);
  });
});

describe("readPieces", () => {
  const dir = mkdtempSync(join(tmpdir(), "read-pieces-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const memory = (given: Uint8Array[]) => ({
    take: (bytes: number) => new Uint8Array(new SharedArrayBuffer(bytes)),
    give: (piece: Uint8Array) => {
      given.push(piece);
    },
  });

  it("reads a range into pieces that end at newlines and join to the range", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: fc.constantFrom("a", "1", ";", "\n") }),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 1, max: 40 }),
        async (text, a, b, target) => {
          const path = join(dir, "t.csv");
          writeFileSync(path, text);
          const start = text.length ? a % (text.length + 1) : 0;
          const end = start + (text.length - start ? b % (text.length - start + 1) : 0);
          const handle = await open(path, "r");
          const out: Uint8Array[] = [];
          try {
            for await (const piece of readPieces(handle, start, end, target, 1 << 20, memory([])))
              out.push(piece);
          } finally {
            await handle.close();
          }
          expect(Buffer.concat(out).toString()).toBe(text.slice(start, end));
          for (const piece of out.slice(0, -1)) expect(piece.at(-1)).toBe(0x0a);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("refuses a line longer than the cap, giving back the memory it took", async () => {
    const path = join(dir, "long.csv");
    writeFileSync(path, `${"9".repeat(100)}\n1\n`);
    const handle = await open(path, "r");
    const given: Uint8Array[] = [];
    try {
      const pieces = readPieces(handle, 0, 103, 16, 50, memory(given));
      await expect(async () => {
        for await (const _ of pieces) {
        }
      }).rejects.toThrow(/a line is longer than 50 bytes/);
    } finally {
      await handle.close();
    }
    expect(given.length).toBeGreaterThan(0);
  });
});
