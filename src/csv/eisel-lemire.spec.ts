import { describe, expect, it } from "vitest";
import { seeded } from "../exact/seeded-random.js";
import { DOT } from "./byte-codes.js";
import { eiselLemireDecimal } from "./eisel-lemire.js";
import { parseNumber } from "./number-syntax.js";

const encoder = new TextEncoder();

function digitsOf(random: () => number, count: number, zeros = 0): string {
  let s = String(1 + Math.floor(random() * 9));
  while (s.length < count) s += random() < zeros ? "0" : String(Math.floor(random() * 10));
  return s;
}

/** Texts whose parse must be Number()'s, bit for bit; returns how many Eisel-Lemire decided. */
function expectNumberOf(texts: string[]): number {
  let decided = 0;
  const wrong: string[] = [];
  for (const text of texts) {
    const bytes = encoder.encode(text);
    if (!Object.is(parseNumber(bytes, 0, bytes.length, DOT), Number(text))) wrong.push(text);
    const sign = text[0] === "-" || text[0] === "+" ? 1 : 0;
    const e = text.search(/[eE]/);
    const direct = eiselLemireDecimal(bytes, sign, bytes.length, DOT, e < 0 ? 0 : Number(text.slice(e + 1)));
    if (direct !== undefined) {
      decided++;
      if (!Object.is(sign ? -direct : direct, Number(text))) wrong.push(`${text} (Eisel-Lemire alone)`);
    }
  }
  expect(wrong.slice(0, 10)).toEqual([]);
  return decided;
}

describe("Eisel-Lemire in front of Number()", () => {
  it("decides nearly every 17-19 digit decimal of the float table's range, as Number() does", () => {
    const random = seeded(17);
    const texts: string[] = [];
    for (let i = 0; i < 300_000; i++) {
      const s = digitsOf(random, 17 + Math.floor(random() * 3));
      const point = 1 + Math.floor(random() * 12);
      texts.push(`${random() < 0.5 ? "-" : ""}${s.slice(0, point)}.${s.slice(point)}`);
    }
    // 1 in 512 has the low nine bits all ones and goes to Number(); the rest are decided.
    expect(expectNumberOf(texts)).toBeGreaterThan(texts.length * 0.99);
  });

  it("is exact over the whole exponent range, subnormals and overflow included", () => {
    const random = seeded(18);
    const texts: string[] = [];
    for (let i = 0; i < 400_000; i++) {
      const s = digitsOf(random, 1 + Math.floor(random() * 20));
      const e = Math.floor(random() * 700) - 360;
      texts.push(random() < 0.5 ? `${s}e${e}` : `${s[0]}.${s.slice(1)}E${e + 400 > 0 ? "+" : ""}${e}`);
    }
    expectNumberOf(texts);
  });

  it("is exact at the fast paths' limits: 16-19 digits with 10^±22, 10^±23 and their neighbours", () => {
    const random = seeded(19);
    const texts: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const s = digitsOf(random, 15 + Math.floor(random() * 5));
      const e = [-24, -23, -22, -21, 21, 22, 23, 24, 25, 55, 56, -27, -28][i % 13]!;
      texts.push(`${s}e${e}`, `0.${s}e${e}`);
    }
    expectNumberOf(texts);
  });

  it("is exact on long zero runs and on more than 19 digits (zeros past the 19th dropped)", () => {
    const random = seeded(20);
    const texts: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const s = digitsOf(random, 10 + Math.floor(random() * 30), 0.7);
      texts.push(s, `0.${"0".repeat(Math.floor(random() * 30))}${s}`, `${s}${"0".repeat(10)}.000`);
      texts.push(`${s.slice(0, 19)}${"0".repeat(5)}1`);
    }
    expectNumberOf(texts);
  });

  it("leaves exact halfway cases to Number() or rounds them to even", () => {
    // m * 2^k + 2^(k-1), halfway between two doubles, written in full: 17 to 20 digits.
    const random = seeded(22);
    const texts: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const m = BigInt(2 ** 52 + Math.floor(random() * 2 ** 52));
      const k = 1n + BigInt(Math.floor(random() * 11));
      const halfway = m * 2n ** k + 2n ** (k - 1n);
      texts.push(
        String(halfway),
        `${halfway}0e-1`,
        `${String(halfway).slice(0, -1)}.${String(halfway).slice(-1)}e1`,
      );
    }
    // Also 2^53 + 1 and neighbours, the classic ones.
    for (let j = 1n; j < 2000n; j += 2n) texts.push(String(2n ** 53n + j), String(2n ** 63n + j * 1024n));
    expectNumberOf(texts);
  });
});
