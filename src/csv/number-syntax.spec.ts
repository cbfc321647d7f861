import { describe, expect, it } from "vitest";
import { parseNumber } from "./number-syntax.js";

const COMMA = 0x2c;
const DOT = 0x2e;
const parse = (text: string, decimal = DOT) => {
  const bytes = Buffer.from(text, "latin1");
  return parseNumber(bytes, 0, bytes.byteLength, decimal);
};

describe("parseNumber's slow path", () => {
  it("rounds a cell as long as a line (1 MiB of digits) as Number() does, with either separator", () => {
    const digits = "3".repeat(1 << 20);
    expect(parse(`1.${digits}`)).toBe(Number(`1.${digits}`));
    expect(parse(`-1,${digits}e-300`, COMMA)).toBe(-Number(`1.${digits}e-300`));
    expect(parse(`${digits}`)).toBe(Number(digits));
  });

  it("reads a cell inside a larger (shared) buffer, as the piece slots hand them to workers", () => {
    const shared = new Uint8Array(new SharedArrayBuffer(64));
    const cell = Buffer.from("x;0.1000000000000000055511151231257827;y");
    shared.set(cell, 7);
    expect(parseNumber(shared, 9, 7 + cell.byteLength - 2, DOT)).toBe(0.1);
  });
});
