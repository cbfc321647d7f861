// Issue 21's float table: 6 columns of decimal floats from 1e-8 to 1e12 in magnitude, of both signs
// and 6 to 17 significant digits, written as floats are usually written (`-1234.5678901`,
// `0.00072931`, `3.2048817e-7`), `;`-delimited with no header like the lesson's tables. Seeded, so
// every run (and every machine) sums the same table; cached beside the integer tables.
// Its reference sums are the exact sums of the cells (each cell correctly rounded to a double,
// as `Number` does), rounded once: what rpcpool must answer, and what DuckDB is measured against.
import { renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fromScaled } from "../src/exact/bigint-reference.js";
import { seeded } from "../src/exact/seeded-random.js";

export { seeded };

export const floatColumns = 6;

/**
 * One cell: a leading digit at 10^e for e in -8..11 (so |value| lies in [1e-8, 1e12)), 6 to 17
 * significant digits, either sign. Plain decimals down to 1e-4, exponent notation below, as
 * Python's repr and most exporters switch.
 */
export function floatCell(random: () => number): string {
  const digits = 6 + Math.floor(random() * 12);
  const exponent = Math.floor(random() * 20) - 8;
  let significand = String(1 + Math.floor(random() * 9));
  while (significand.length < digits) significand += String(Math.floor(random() * 10));
  const sign = random() < 0.5 ? "-" : "";
  if (exponent < -4) return `${sign}${significand[0]}.${significand.slice(1)}e${exponent}`;
  if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${significand}`;
  const whole = significand.slice(0, exponent + 1).padEnd(exponent + 1, "0");
  const fraction = significand.slice(exponent + 1);
  return fraction ? `${sign}${whole}.${fraction}` : `${sign}${whole}`;
}

export interface FloatTable {
  text: Buffer;
  rows: number;
  /** The exact sum of each column rounded once to a double. */
  exactSums: number[];
}

/** The table of `rows` rows from `seed`, and its reference sums. */
export function floatTable(rows: number, seed = 21): FloatTable {
  const random = seeded(seed);
  const columns = Array.from({ length: floatColumns }, () => new ExactColumnSum());
  const lines: string[] = [];
  for (let r = 0; r < rows; r++) {
    const cells: string[] = [];
    for (let c = 0; c < floatColumns; c++) {
      const cell = floatCell(random);
      cells.push(cell);
      columns[c]!.add(Number(cell));
    }
    lines.push(cells.join(";"));
  }
  return { text: Buffer.from(`${lines.join("\n")}\n`), rows, exactSums: columns.map((s) => s.rounded()) };
}

/**
 * The table written as `float-6x<rows>.csv` in `dir` unless a file of its size is there (written
 * to a temporary name and renamed: another bench on the machine may be writing it too).
 */
export function floatTableFile(dir: string, rows: number): FloatTable & { path: string } {
  const table = floatTable(rows);
  const path = join(dir, `float-${floatColumns}x${rows}.csv`);
  let size = -1;
  try {
    size = statSync(path).size;
  } catch {}
  if (size !== table.text.length) {
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, table.text);
    renameSync(temporary, path);
  }
  return { ...table, path };
}

const bits = new DataView(new ArrayBuffer(8));
/** Exponents q of m * 2^q, with |m| < 2^53: -1074 for subnormals, up to 971. */
const lowestExponent = -1074;
const exponents = 971 - lowestExponent + 1;
const half = 2 ** 26;

/**
 * An exact sum of doubles without a BigInt per term: each double is m * 2^q with an integer
 * |m| < 2^53, kept as two halves of 26 and 27 bits added into float64 counters per exponent q,
 * which stay exact integers below 2^53 for 2^26 terms; BigInt only once, to round.
 */
export class ExactColumnSum {
  private readonly high = new Float64Array(exponents);
  private readonly low = new Float64Array(exponents);
  private terms = 0;

  add(value: number): void {
    if (!Number.isFinite(value)) throw new RangeError(`${value} has no exact sum`);
    if (++this.terms >= half) throw new RangeError("more terms than the counters hold exactly");
    if (value === 0) return;
    bits.setFloat64(0, value);
    const top = bits.getUint32(0);
    const biased = (top >>> 20) & 0x7ff;
    let mantissa = (top & 0xfffff) * 2 ** 32 + bits.getUint32(4);
    if (biased > 0) mantissa += 2 ** 52;
    const q = Math.max(biased, 1) - 1075 - lowestExponent;
    const sign = top >>> 31 ? -1 : 1;
    const highPart = Math.floor(mantissa / half);
    this.high[q]! += sign * highPart;
    this.low[q]! += sign * (mantissa - highPart * half);
  }

  /** The exact sum in units of 2^-1074. */
  exact(): bigint {
    let total = 0n;
    for (let q = 0; q < exponents; q++)
      if (this.high[q] || this.low[q])
        total += (BigInt(this.high[q]!) * BigInt(half) + BigInt(this.low[q]!)) << BigInt(q);
    return total;
  }

  /** The exact sum rounded once, to nearest, ties to even. */
  rounded(): number {
    return fromScaled(this.exact());
  }
}

/** How many doubles lie between a and b (0 when equal): the distance in units in the last place. */
export function ulpsApart(a: number, b: number): number {
  const ordered = (x: number) => {
    bits.setFloat64(0, x);
    const raw = bits.getBigInt64(0);
    return raw < 0n ? -(raw & 0x7fffffffffffffffn) : raw;
  };
  const distance = ordered(a) - ordered(b);
  return Number(distance < 0n ? -distance : distance);
}
