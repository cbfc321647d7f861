import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * Where the kernel's piece starts in its memory (below it: the sums, the row width, and the
 * decimal kernel's state: decimal-sum.wat shares this memory, so a piece is copied in once).
 */
export const INPUT = 8192;
/** Columns the kernel sums at most; a wider table takes the JS path. */
export const KERNEL_MAX_COLUMNS = 64;
const PAGE = 65536;

/** The result of the kernel on a piece it handled: its rows, its width, each column's sum. */
export interface KernelSums {
  rows: number;
  columns: number;
  /** Each column's sum, an integer of magnitude below 2^53 (so exact as a double). */
  sums: Float64Array;
}

interface Exports {
  memory: WebAssembly.Memory;
  sumIntegers(length: number, delimiter: number): number;
}

/**
 * A compiled kernel (scripts/build-wasm.mjs compiles `name`.wat). Beside this module under dist/
 * (where the bundles' rewritten import.meta.url also points); from src/ (vitest), the built one
 * under dist/. Undefined when it was not built: the JS path runs.
 */
export function kernelModule(name: string): WebAssembly.Module | undefined {
  const candidates = [
    new URL(`./${name}.wasm`, import.meta.url),
    new URL(`../../../dist/src/csv/wasm/${name}.wasm`, import.meta.url),
  ];
  for (const url of candidates) {
    const path = fileURLToPath(url);
    if (existsSync(path)) return new WebAssembly.Module(readFileSync(path));
  }
  return undefined;
}

/**
 * One instance of the kernel and its memory: one per thread, made on first use, as a piece's
 * scan is synchronous and a worker thread scans one piece at a time.
 */
export class IntSumKernel {
  readonly #exports: Exports;

  constructor(module: WebAssembly.Module) {
    this.#exports = new WebAssembly.Instance(module).exports as unknown as Exports;
  }

  /** The kernel of this installation, or undefined when its .wasm was not built (the JS path runs). */
  static load(): IntSumKernel | undefined {
    const module = kernelModule("int-sum");
    return module === undefined ? undefined : new IntSumKernel(module);
  }

  /** The memory the piece is copied into; decimal-sum.wat imports it. */
  get memory(): WebAssembly.Memory {
    return this.#exports.memory;
  }

  /** Copies the piece into the kernel's memory at INPUT, growing it when needed. */
  copyIn(bytes: Uint8Array): void {
    const { memory } = this.#exports;
    const needed = INPUT + bytes.length + 1;
    if (needed > memory.buffer.byteLength) {
      memory.grow(Math.ceil((needed - memory.buffer.byteLength) / PAGE));
    }
    new Uint8Array(memory.buffer, INPUT, bytes.length).set(bytes);
  }

  /**
   * Sums the piece's columns if it is all plain integer rows (see int-sum.wat); undefined
   * otherwise, "not handled": the caller scans it with the JS path, which names any refusal.
   */
  sum(bytes: Uint8Array, delimiter: number): KernelSums | undefined {
    this.copyIn(bytes);
    return this.sumCopied(bytes.length, delimiter);
  }

  /** sum() of the piece of `length` bytes copyIn() put there last. */
  sumCopied(length: number, delimiter: number): KernelSums | undefined {
    const { memory, sumIntegers } = this.#exports;
    const rows = sumIntegers(length, delimiter);
    if (rows < 0) return undefined;
    const columns = new Int32Array(memory.buffer, 512, 1)[0]!;
    const wide = new BigInt64Array(memory.buffer, 0, columns);
    const sums = new Float64Array(columns);
    for (let c = 0; c < columns; c++) sums[c] = Number(wide[c]!);
    return { rows, columns, sums };
  }
}
