import type { ColumnSumsResponse } from "../../gen/rpcpool/compute/v1/compute.js";
import type { Pool } from "../../pool/pool.js";
import type { ValueHandle } from "../../pool/value-handle.js";
import { ClientError } from "../../rpc/client-error.js";
import { Status as status } from "../../rpc/grpc-status.js";
import { computeMethods } from "./lesson-methods.js";
import { checkColumnSums } from "./lesson-replies.js";
import type { ColumnSumsResult } from "./table-calls.js";

/** The exact column sums over several tables together. */
export interface ColumnSumsTotal {
  rows: number;
  columns: number;
  sums: number[];
}

/** The lesson's reduce operation (`pool.reduce`): MergeColumnSums, the exact merge of column sums. */
export const mergeColumnSumsOp = computeMethods.mergeColumnSums;

/**
 * The exact total of per-file column sums: refused (INVALID_ARGUMENT, naming both files and widths)
 * when two files with data rows have different numbers of columns; otherwise reduced on a server
 * from the files' exact partials with MergeColumnSums, so it is bit-identical to math.fsum over
 * every cell of every file. Files without data rows add nothing.
 */
export async function columnSumsTotal(
  pool: Pool,
  results: readonly ColumnSumsResult[],
  options: { signal?: AbortSignal } = {},
): Promise<ColumnSumsTotal> {
  const withRows = results.filter((r) => r.rows > 0);
  const first = withRows[0];
  const other = withRows.find((r) => r.columns !== first?.columns);
  if (first && other) {
    throw new ClientError(
      status.INVALID_ARGUMENT,
      `no total: ${first.file} has ${first.columns} columns and ${other.file} has ${other.columns}`,
    );
  }
  if (!first) return { rows: 0, columns: 0, sums: [] };
  const parts = withRows.map(
    (r): ColumnSumsResponse => ({
      rows: r.rows,
      columns: r.columns,
      sums: [],
      exact: r.exact,
      servedBy: undefined,
      lines: 0,
      bytes: r.bytes,
      columnNames: r.columnNames,
    }),
  );
  const merged = await pool.apply(
    async (server, signal) => {
      const reply = await server.unary(mergeColumnSumsOp, { parts }, { signal });
      checkColumnSums(server.address, reply, { exactOnly: false });
      return reply;
    },
    { signal: options.signal },
  );
  return totalOf(merged);
}

/** The exact total of column sums kept on the servers (`pool.keep`), reduced where they are. */
export async function reduceColumnSums(
  pool: Pool,
  handles: readonly ValueHandle<ColumnSumsResponse>[],
  options: { signal?: AbortSignal } = {},
): Promise<ColumnSumsTotal> {
  return totalOf(await pool.reduce(handles, mergeColumnSumsOp, options));
}

function totalOf(reply: ColumnSumsResponse): ColumnSumsTotal {
  return { rows: reply.rows, columns: reply.columns, sums: reply.sums };
}
