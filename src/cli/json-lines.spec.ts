import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { inputLines, maxLineChars } from "./json-lines.js";
import { UsageError } from "./run-program.js";

const linesOf = async (chunks: string[]) => {
  const lines = [];
  for await (const line of inputLines(Readable.from(chunks), "in.jsonl")) lines.push(line);
  return lines;
};

describe("inputLines", () => {
  it("numbers every line, blank ones too, and yields the non-blank ones across chunk boundaries", async () => {
    expect(await linesOf(['{"a":', '1}\n\n  \n{"b"', ":2}\n", '{"c":3}'])).toEqual([
      { number: 1, text: '{"a":1}' },
      { number: 4, text: '{"b":2}' },
      { number: 5, text: '{"c":3}' },
    ]);
  });

  it("finds several lines in one chunk and a newline at a chunk's start", async () => {
    expect(await linesOf(["x\ny", "\nz\n"])).toEqual([
      { number: 1, text: "x" },
      { number: 2, text: "y" },
      { number: 3, text: "z" },
    ]);
  });

  it("refuses a line longer than 64 MiB (a stream with no newline) as a usage error naming the line", async () => {
    const chunk = "x".repeat(1 << 20);
    const endless = Array.from({ length: (maxLineChars >> 20) + 2 }, () => chunk);
    const read = linesOf(["{}\n", ...endless]);
    await expect(read).rejects.toBeInstanceOf(UsageError);
    await expect(read).rejects.toThrow(/^in\.jsonl: line 2 is longer than 64 MiB with no newline/);
  });
});
