import fc from "fast-check";
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

describe("parseNumber's fast path (Clinger's, up to 16 significant digits below 2^53)", () => {
  // Each text as Number() reads it: correctly rounded, whichever path parseNumber takes.
  const agrees = (text: string) => expect(Object.is(parse(text), Number(text)), text).toBe(true);

  it("agrees with Number() at the edges of 2^53 and of the powers of ten", () => {
    for (const text of [
      "9007199254740991", // 2^53 - 1: fast
      "9007199254740992", // 2^53: slow path, exact either way
      "9007199254740993", // 2^53 + 1: a tie, to even
      "9007199254740995",
      "9999999999999999",
      "1000000000000000",
      "0.9007199254740993",
      "900719925474099.3",
      "9007199254740993e-22",
      "9007199254740993e22",
      "8.999999999999999e22",
      "1.234567890123456e-7",
      "-4.503599627370497e15",
      "0.0000000000000000000001234567890123456",
      "1234567890123456e-23",
      "12345678901234567",
      "123456789012345678",
      "1234567890123456789",
      "0.12345678901234567",
      "-1234.5678901234567",
      "9007199254740993.0",
      "900719925474099300",
      "1.7976931348623157e22",
      "2.2250738585072014e-22",
      "4.9406564584124654e-5",
      "0.10000000000000000555",
      "99999999999999999e22",
      "10000000000000001e-22",
      "5.0000000000000001e-1",
    ])
      agrees(text);
  });

  it("agrees with Number() on random 14-19 digit decimals over the fast path's exponents", () => {
    const decimal = fc
      .tuple(
        fc.boolean(),
        fc.bigInt({ min: 10n ** 13n, max: 10n ** 19n - 1n }),
        fc.integer({ min: 0, max: 18 }),
        fc.integer({ min: -30, max: 30 }),
      )
      .map(([negative, digits, point, exp]) => {
        const text = digits.toString();
        const at = Math.min(point, text.length);
        const mantissa = at === 0 ? text : `${text.slice(0, at)}.${text.slice(at)}`;
        return `${negative ? "-" : ""}${mantissa}${exp === 0 ? "" : `e${exp}`}`;
      });
    fc.assert(
      fc.property(decimal, (text) => Object.is(parse(text), Number(text))),
      { numRuns: 200_000 },
    );
  });

  it("rounds exact ties to even, as Number() does, by product and by quotient", () => {
    // Above 2^53 the midpoints between doubles are integers; below it, x.5 for x in [2^52, 2^53)
    // and x.25, x.75 for x in [2^51, 2^52) are midpoints of 17 and 18 digits.
    const tie = fc.oneof(
      fc.bigInt({ min: 2n ** 53n, max: 10n ** 18n }).map((n) => {
        const below = BigInt(Number(n));
        const gap = 2n ** BigInt(Math.max(0, below.toString(2).length - 53));
        return (below + gap / 2n).toString();
      }),
      fc.bigInt({ min: 2n ** 52n, max: 2n ** 53n - 1n }).map((x) => `${x}.5`),
      fc
        .tuple(fc.bigInt({ min: 2n ** 51n, max: 2n ** 52n - 1n }), fc.boolean())
        .map(([x, low]) => `${x}.${low ? "25" : "75"}`),
    );
    fc.assert(
      fc.property(tie, fc.boolean(), (text, negative) => {
        const signed = negative ? `-${text}` : text;
        return Object.is(parse(signed), Number(signed));
      }),
      { numRuns: 50_000 },
    );
  });
});
