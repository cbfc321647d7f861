import { type ExactSumWire, emptyWire } from "../exact/exact-wire.js";
import type { ColumnSumsRequest, WeightedMeansRequest } from "../gen/rpcpool/compute/v1/compute.js";
import { Divisor } from "../gen/rpcpool/compute/v1/compute.js";
import type { ServedBy } from "../gen/rpcpool/compute/v1/table.js";
import type { CallControls } from "./call-options.js";
import { clientStreamCall } from "./client-stream-call.js";
import type { ServerConnection } from "./server-connection.js";
import { delimiterCharacter, fileChunks, type TableReadOptions } from "./table-input.js";

/** Column sums of one file, as the pool returns them. */
export interface ColumnSumsResult {
  file: string;
  rows: number;
  columns: number;
  sums: number[];
  /** Name of the server that computed it. */
  server: string;
  servedBy: ServedBy;
  /** Exact sums per column, for merging parts. */
  exact: ExactSumWire[];
}

export interface WeightedMeansResult {
  file: string;
  rows: number;
  columns: number;
  means: number[];
  server: string;
  servedBy: ServedBy;
  /** Exact sums of w*x per column and of w, for merging parts. */
  weightedSums: ExactSumWire[];
  weightSum: ExactSumWire;
}

export type DivisorName = "weights" | "rows";

/** Table calls also report the bytes they send, for progress displays. */
export interface TableCallControls extends CallControls {
  onBytes?: (bytes: number) => void;
}

/** Default deadline of a table call: generous, since a table may be large; keepalive catches dead peers. */
export const tableTimeoutMs = 10 * 60_000;

/** Which bytes a call covers: a row range of a split file, and whether the server reads the file itself. */
export interface TableWhere {
  part?: TablePart;
  /** The file is a path under the server's --data-root: only the path travels. */
  remote?: boolean;
}

/** One row range of a file, cut at line boundaries (see split-plan.ts). */
export interface TablePart {
  /** Byte range [start, end) of the file. */
  start: number;
  end: number;
  /** 1-based line of the file at `start`. */
  firstLine: number;
  /** Data rows in the range. */
  rows: number;
  /** Cells per row of the whole table. */
  columns: number;
}

function tableOptions(file: string, read: TableReadOptions, where: TableWhere) {
  const part = where.part;
  return {
    fileName: file,
    delimiter: delimiterCharacter(read.delimiter) ?? "",
    decimal: read.decimal ?? "",
    header: read.header ?? false,
    firstLine: part?.firstLine ?? 0,
    continuesFile: part !== undefined && part.start > 0,
    remotePath: where.remote ? file : "",
    rangeStart: where.remote ? (part?.start ?? 0) : 0,
    rangeEnd: where.remote ? (part?.end ?? 0) : 0,
    expectedColumns: part?.columns ?? 0,
    // A part's own rounded values are not wanted (nor refused): the merged exact sums count.
    exactOnly: part !== undefined,
  };
}

/** The table's bytes for a call: none when the server reads the file, else the file or its part. */
async function* tableChunks(file: string, where: TableWhere, controls: TableCallControls) {
  if (where.remote) return;
  for await (const chunk of fileChunks(file, where.part?.start ?? 0, where.part?.end)) {
    controls.onBytes?.(chunk.byteLength);
    yield { chunk };
  }
}

export async function columnSumsCall(
  server: ServerConnection,
  file: string,
  read: TableReadOptions = {},
  controls: TableCallControls = {},
  where: TableWhere = {},
): Promise<ColumnSumsResult> {
  async function* requests(): AsyncGenerator<ColumnSumsRequest> {
    yield { options: tableOptions(file, read, where) };
    yield* tableChunks(file, where, controls);
  }
  const reply = await clientStreamCall(
    server.compute.columnSums.bind(server.compute),
    requests(),
    server.metadata(),
    controls,
    tableTimeoutMs,
    server.address,
  );
  const servedBy = reply.servedBy!;
  return {
    file,
    rows: reply.rows,
    columns: reply.columns,
    sums: reply.sums,
    server: servedBy.server,
    servedBy,
    exact: reply.exact,
  };
}

export async function weightedMeansCall(
  server: ServerConnection,
  file: string,
  weights: number[],
  divisor: DivisorName = "weights",
  read: TableReadOptions = {},
  controls: TableCallControls = {},
  where: TableWhere = {},
): Promise<WeightedMeansResult> {
  async function* requests(): AsyncGenerator<WeightedMeansRequest> {
    yield {
      options: {
        table: tableOptions(file, read, where),
        weights,
        divisor: divisor === "rows" ? Divisor.DIVISOR_ROWS : Divisor.DIVISOR_WEIGHTS,
      },
    };
    yield* tableChunks(file, where, controls);
  }
  const reply = await clientStreamCall(
    server.compute.weightedMeans.bind(server.compute),
    requests(),
    server.metadata(),
    controls,
    tableTimeoutMs,
    server.address,
  );
  const servedBy = reply.servedBy!;
  return {
    file,
    rows: reply.rows,
    columns: reply.columns,
    means: reply.means,
    server: servedBy.server,
    servedBy,
    weightedSums: reply.weightedSums,
    weightSum: reply.weightSum ?? emptyWire(),
  };
}
