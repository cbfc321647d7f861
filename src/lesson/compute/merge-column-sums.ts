import type { ExactSumWire } from "../../exact/exact-wire.js";
import { mergeExact, roundSums } from "./merge-pieces.js";
import { RefusedInput } from "./small-computations.js";

/** What a merge reads of each part: a ColumnSums reply, or an earlier merge's. */
export interface ColumnSumsPart {
  rows: number;
  columns: number;
  exact: ExactSumWire[];
  lines: number;
  bytes: number;
  /** The selected columns' names (--columns), when a part has them. */
  columnNames?: string[];
}

/** Parts of different widths: column sums of tables of different shapes do not add. */
export class WidthMismatch extends RefusedInput {
  constructor(
    readonly first: { index: number; columns: number },
    readonly other: { index: number; columns: number },
  ) {
    super(
      `part ${first.index + 1} has ${first.columns} columns and part ${other.index + 1} has ${other.columns}: column sums of tables of different widths do not add`,
    );
  }
}

/**
 * The exact merge of column sums (the lesson's reduce operation): exact sums added exactly, counts
 * added, the sums rounded once. Parts without data rows fit any width. The result does not depend
 * on the order or grouping of the parts: merging merges gives the same bits.
 */
export function mergeColumnSums(
  parts: readonly ColumnSumsPart[],
): ColumnSumsPart & { sums: number[]; columnNames: string[] } {
  let width: { index: number; columns: number } | undefined;
  for (const [index, part] of parts.entries()) {
    if (part.rows === 0) continue;
    if (part.exact.length !== part.columns) {
      throw new RefusedInput(
        `part ${index + 1} has ${part.columns} columns but ${part.exact.length} exact sums`,
      );
    }
    if (!width) width = { index, columns: part.columns };
    else if (part.columns !== width.columns) throw new WidthMismatch(width, { index, columns: part.columns });
  }
  let exact: ExactSumWire[];
  try {
    exact = mergeExact(parts.filter((p) => p.rows > 0).map((p) => p.exact));
  } catch (error) {
    throw new RefusedInput(`an exact sum is malformed: ${(error as Error).message}`);
  }
  return {
    rows: parts.reduce((n, p) => n + p.rows, 0),
    columns: width?.columns ?? 0,
    exact,
    sums: roundSums(exact),
    lines: parts.reduce((n, p) => n + p.lines, 0),
    bytes: parts.reduce((n, p) => n + p.bytes, 0),
    columnNames: parts.find((p) => p.rows > 0 && p.columnNames?.length)?.columnNames ?? [],
  };
}
