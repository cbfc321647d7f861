import { ExactSum } from "../../exact/exact-sum.js";
import { powerOfFive128 } from "../eisel-lemire.js";
import { POW10, parseNumber } from "../number-syntax.js";
import { type IntSumKernel, kernelModule } from "./int-sum-kernel.js";

/** Where decimal-sum.wat keeps each column's integer sum, and the powers of ten it divides by. */
const INTEGERS = 1024;
const POWERS = 3840;
/** fast_float's 128-bit powers of five for q in FIVES_MIN_Q..FIVES_MIN_Q + 255, high then low. */
const FIVES = 4096;
const FIVES_MIN_Q = -160;

/** The result of the decimal kernel on a piece it handled. */
export interface DecimalSums {
  rows: number;
  columns: number;
  /** Each column's exact sum, built by the very adds the JS path's ColumnSums makes. */
  sums: ExactSum[];
}

interface Exports {
  sumDecimals(length: number, delimiter: number, decimal: number): number;
  flushAll(columns: number): void;
}

/**
 * The decimal kernel (decimal-sum.wat) of one thread, over the integer kernel's memory: it reads
 * the piece IntSumKernel.copyIn put there, so a piece the integer kernel passes on is not copied
 * again. Its two imports are the JS parts that stay in JS: the exact partials (ExactSum), which
 * it feeds in BinnedSum's order, and parseNumber for the rare cells neither Clinger's exact case
 * nor its Eisel-Lemire decides (more than 19 significant digits, halfway, subnormal, huge).
 */
export class DecimalSumKernel {
  readonly #exports: Exports;
  readonly #memory: WebAssembly.Memory;
  #bytes: Uint8Array;
  #decimal = 0;
  /** The current piece's exact sums by column, made on a first add. */
  #exact: ExactSum[] = [];

  constructor(module: WebAssembly.Module, memory: WebAssembly.Memory) {
    this.#memory = memory;
    this.#bytes = new Uint8Array(memory.buffer);
    const kernel = {
      memory,
      exactAdd: (column: number, x: number) => {
        (this.#exact[column] ??= new ExactSum()).add(x);
      },
      slowCell: (start: number, end: number) => parseNumber(this.#view(), start, end, this.#decimal),
    };
    this.#exports = new WebAssembly.Instance(module, { kernel }).exports as unknown as Exports;
    // 10^0..10^22 where the kernel reads them: below the piece, and no kernel clears them.
    new Float64Array(memory.buffer, POWERS, POW10.length).set(POW10);
    const fives = new BigUint64Array(memory.buffer, FIVES, 2 * 256);
    for (let i = 0; i < 256; i++) {
      const c = powerOfFive128(FIVES_MIN_Q + i);
      fives[2 * i] = c >> 64n;
      fives[2 * i + 1] = BigInt.asUintN(64, c);
    }
  }

  /** The kernel over `ints`' memory, or undefined when its .wasm was not built. */
  static load(ints: IntSumKernel): DecimalSumKernel | undefined {
    const module = kernelModule("decimal-sum");
    return module === undefined ? undefined : new DecimalSumKernel(module, ints.memory);
  }

  /**
   * Exact column sums of the piece of `length` bytes copyIn() put in the memory, if it is all
   * plain number rows (see decimal-sum.wat); undefined otherwise, "not handled".
   */
  sumCopied(length: number, delimiter: number, decimal: number): DecimalSums | undefined {
    this.#decimal = decimal;
    this.#exact = [];
    const rows = this.#exports.sumDecimals(length, delimiter, decimal);
    if (rows < 0) return undefined;
    const buffer = this.#memory.buffer;
    const columns = new Int32Array(buffer, 512, 1)[0]!;
    this.#exports.flushAll(columns);
    const integers = new Float64Array(buffer, INTEGERS, columns);
    const sums = Array.from({ length: columns }, (_, c) => {
      const sum = this.#exact[c] ?? new ExactSum();
      // ColumnSums.sums: the bins first (flushAll), then the column's integers.
      sum.add(integers[c]!);
      return sum;
    });
    return { rows, columns, sums };
  }

  /** The memory as bytes; a grow detaches the old buffer. */
  #view(): Uint8Array {
    if (this.#bytes.buffer !== this.#memory.buffer) this.#bytes = new Uint8Array(this.#memory.buffer);
    return this.#bytes;
  }
}
