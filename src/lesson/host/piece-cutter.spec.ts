import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { ByteBudget } from "./byte-budget.js";
import { cutPieces, LineTooLong, readPieces } from "./piece-cutter.js";

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

/** A received message as grpc-js hands it over: a Buffer of its own, the chunk after 9 bytes of framing. */
function message(text: string): Buffer {
  const framed = Buffer.allocUnsafeSlow(9 + Buffer.byteLength(text));
  framed.write(text, 9);
  return framed.subarray(9);
}

/** The pieces of messages cut with `lend`, and the views it was asked to lend. */
async function lentPieces(messages: Uint8Array[], target: number, maxLine = 1 << 20) {
  const lent: Uint8Array[] = [];
  const out: Uint8Array[] = [];
  const budget = new ByteBudget(1 << 20, 60_000).holder("client");
  async function* source() {
    yield* messages;
  }
  const cutter = cutPieces(source(), target, maxLine, Buffer.allocUnsafeSlow, budget, async (view) => {
    lent.push(view);
  });
  try {
    for await (const piece of cutter) out.push(piece);
  } finally {
    // Whatever the outcome, nothing stays held once the cutter is done.
    expect(budget.held).toBe(0);
  }
  return { out, lent };
}

describe("cutPieces with lend: messages that own their memory", () => {
  it("leaves a message's rows in its memory, copying only the row across two messages", async () => {
    const first = message("h1;h2\n1;2\n3;4\n5;");
    const second = message("6\n7;8\n9;10\n11");
    const { out, lent } = await lentPieces([first, second], 8);
    expect(out.map((p) => Buffer.from(p).toString())).toEqual([
      "h1;h2\n",
      "1;2\n3;4\n",
      "5;6\n",
      "7;8\n9;10\n",
      "11",
    ]);
    // The rows after each message's first are views of it, not copies: lent, to be moved.
    expect(lent).toEqual([out[1], out[3]]);
    expect(out[1]!.buffer).toBe(first.buffer);
    expect(out[3]!.buffer).toBe(second.buffer);
    // The rest are copies: the messages' memory leaves with their pieces.
    for (const i of [0, 2, 4]) expect(out[i]!.buffer).not.toBe(first.buffer);
    for (const i of [0, 2, 4]) expect(out[i]!.buffer).not.toBe(second.buffer);
  });

  it("copies what it cannot lend: quotes, small messages, views of a larger buffer", async () => {
    const quoted = message('"a\nb";1\n2;3\n');
    const shared = Buffer.from("1;2\n3;4\n5;6\n7;8\n").subarray(4);
    const small = message("1;2\n3;4\n");
    const { out, lent } = await lentPieces([quoted, shared, small], 12);
    expect(lent).toEqual([]);
    expect(Buffer.concat(out).toString()).toBe('"a\nb";1\n2;3\n3;4\n5;6\n7;8\n1;2\n3;4\n');
  });

  it("refuses a line too long after the pieces before it, and gives its held bytes back", async () => {
    const cutter = lentPieces([message("1;2\n3;4\n12345678901234567890")], 4, 10);
    await expect(cutter).rejects.toBeInstanceOf(LineTooLong);
    const before: Uint8Array[] = [];
    async function* source() {
      yield message("1;2\n3;4\n12345678901234567890");
    }
    await expect(
      (async () => {
        for await (const piece of cutPieces(
          source(),
          4,
          10,
          Buffer.allocUnsafeSlow,
          undefined,
          async () => {},
        ))
          before.push(piece);
      })(),
    ).rejects.toMatchObject({ heldLines: 0 });
    expect(Buffer.concat(before).toString()).toBe("1;2\n3;4\n");
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
      }).rejects.toThrow(/the line is longer than this server.s cap of 50 bytes/);
    } finally {
      await handle.close();
    }
    expect(given.length).toBeGreaterThan(0);
  });
});

describe("cutting a table with quoted cells", () => {
  const dir = mkdtempSync(join(tmpdir(), "quoted-pieces-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const table = (rows: number) => {
    let text = '"name";"note"\n';
    for (let i = 0; i < rows; i++) text += `${i};"a;b\n""c""\nd"\n`;
    return text;
  };
  const rowEnds = (text: string) => {
    // Offsets just after each newline outside quotes.
    const ends: number[] = [];
    let quoted = false;
    for (let i = 0; i < text.length; i++) {
      if (text[i] === '"') quoted = !quoted;
      else if (text[i] === "\n" && !quoted) ends.push(i + 1);
    }
    return ends;
  };

  it("cuts a stream only at a row's end, never at a newline inside quotes", async () => {
    const text = table(200);
    const ends = new Set(rowEnds(text));
    for (const sizes of [[1], [7, 3], [64], [1000]]) {
      const out = await pieces(chunked(text, sizes), 50);
      expect(Buffer.concat(out).toString()).toBe(text);
      let at = 0;
      for (const piece of out.slice(0, -1)) {
        at += piece.byteLength;
        expect(ends.has(at)).toBe(true);
      }
      expect(out.length).toBeGreaterThan(3);
    }
  });

  it("reads a file into pieces that end at rows' ends", async () => {
    const text = table(300);
    const ends = new Set(rowEnds(text));
    const path = join(dir, "quoted.csv");
    writeFileSync(path, text);
    const handle = await open(path, "r");
    try {
      const out: Uint8Array[] = [];
      const memory = { take: (n: number) => Buffer.allocUnsafeSlow(n), give: () => {} };
      for await (const piece of readPieces(handle, 0, text.length, 64, 1 << 20, memory))
        out.push(Buffer.from(piece));
      expect(Buffer.concat(out).toString()).toBe(text);
      let at = 0;
      for (const piece of out.slice(0, -1)) {
        at += piece.byteLength;
        expect(ends.has(at)).toBe(true);
      }
    } finally {
      await handle.close();
    }
  });

  it("cuts a quote left open past the cap at a newline, so that the scanner can say why", async () => {
    const text = `1;2\n3;4" pipe\n${"5;6\n".repeat(100)}`;
    const out = await pieces(chunked(text, [16]), 16, 64);
    expect(Buffer.concat(out).toString()).toBe(text);
    expect(out.length).toBeGreaterThan(1);
  });
});
