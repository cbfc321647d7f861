import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cutPieces, LineTooLong } from "./piece-cutter.js";

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

  it("refuses a line longer than the limit, saying how many whole lines it still held", async () => {
    const long = chunked(`${"1".repeat(5000)}\n`, [100]);
    await expect(pieces(long, 64, 1000)).rejects.toBeInstanceOf(LineTooLong);
    await expect(pieces(chunked(`1\n2\n${"1".repeat(5000)}`, [4000]), 1 << 20, 1000)).rejects.toMatchObject({
      heldLines: 2,
    });
    expect((await pieces(long, 64, 10_000)).map((p) => p.byteLength)).toEqual([5001]);
  });
});
