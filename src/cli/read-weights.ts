import { readFile } from "node:fs/promises";
import { UsageError } from "./usage-error.js";

/** Weights from a file: a JSON array of numbers, or one number a line (blank lines skipped). */
export async function readWeights(path: string): Promise<number[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new UsageError(`--weights: cannot read ${path}: ${(error as Error).message}`);
  }
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new UsageError(`--weights: ${path} is not valid JSON: ${(error as Error).message}`);
    }
    if (!Array.isArray(parsed) || !parsed.every((w) => typeof w === "number" && Number.isFinite(w))) {
      throw new UsageError(`--weights: ${path} must be a JSON array of numbers`);
    }
    return parsed;
  }
  const weights: number[] = [];
  trimmed.split(/\r?\n/).forEach((line, i) => {
    const cell = line.trim();
    if (cell === "") return;
    const w = Number(cell);
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(cell) || !Number.isFinite(w)) {
      throw new UsageError(`--weights: ${path}, line ${i + 1}: "${cell}" is not a number`);
    }
    weights.push(w);
  });
  return weights;
}
