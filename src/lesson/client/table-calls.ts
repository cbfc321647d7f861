import { type ExactSumWire, emptyWire } from "../../exact/exact-wire.js";
import type { ColumnSumsRequest, WeightedMeansRequest } from "../../gen/rpcpool/compute/v1/compute.js";
import { Divisor } from "../../gen/rpcpool/compute/v1/compute.js";
import type { ServedBy, TableOptions } from "../../gen/rpcpool/compute/v1/table.js";
import type { PoolServer } from "../../pool/server-connection.js";
import type { CallOptions } from "../../rpc/call-options.js";
import { computeMethods } from "./lesson-methods.js";
import { delimiterCharacter, fileChunks, type TableReadOptions } from "./table-input.js";

/** Column sums of one file (or one part of it), as a table call returns them. */
export interface ColumnSumsResult {
  file: string;
  rows: number;
  columns: number;
  sums: number[];
  /** Name of the server that computed it (for a split file: every server, in part order). */
  server: string;
  servedBy: ServedBy;
  /** Exact sums per column, for merging parts. */
  exact: ExactSumWire[];
  /** Bytes the server read. */
  bytes: number;
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
  bytes: number;
}

export type DivisorName = "weights" | "rows";

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

/** Everything a table call takes besides the server and the file: one options object. */
export interface TableCallOptions extends CallOptions {
  read?: TableReadOptions;
  /** A row range of a split file, instead of the whole file. */
  part?: TablePart;
  /** The file is a path under the server's --data-root: only the path travels. */
  remote?: boolean;
  /** Told of the bytes sent as they go (progress bars). */
  onBytes?: (bytes: number) => void;
}

function tableOptions(file: string, options: TableCallOptions): TableOptions {
  const { read = {}, part, remote } = options;
  return {
    fileName: file,
    delimiter: delimiterCharacter(read.delimiter) ?? "",
    decimal: read.decimal ?? "",
    header: read.header ?? false,
    firstLine: part?.firstLine ?? 0,
    continuesFile: part !== undefined && part.start > 0,
    remotePath: remote ? file : "",
    rangeStart: remote ? (part?.start ?? 0) : 0,
    rangeEnd: remote ? (part?.end ?? 0) : 0,
    expectedColumns: part?.columns ?? 0,
    // A part's own rounded values are not wanted (nor refused): the merged exact sums count.
    exactOnly: part !== undefined,
  };
}

/** The table's bytes for a call: none when the server reads the file, else the file or its part. */
async function* tableChunks(file: string, options: TableCallOptions) {
  if (options.remote) return;
  for await (const chunk of fileChunks(file, options.part?.start ?? 0, options.part?.end)) {
    options.onBytes?.(chunk.byteLength);
    yield { chunk };
  }
}

/** Column sums of a file (or a part) on one server, the table streamed with backpressure. */
export async function columnSumsCall(
  server: PoolServer,
  file: string,
  options: TableCallOptions = {},
): Promise<ColumnSumsResult> {
  async function* requests(): AsyncGenerator<ColumnSumsRequest> {
    yield { options: tableOptions(file, options) };
    yield* tableChunks(file, options);
  }
  const reply = await server.clientStream(computeMethods.columnSums!, requests(), options);
  const servedBy = reply.servedBy!;
  return {
    file,
    rows: reply.rows,
    columns: reply.columns,
    sums: reply.sums,
    server: servedBy.server,
    servedBy,
    exact: reply.exact,
    bytes: reply.bytes,
  };
}

/** Weighted column means of a file (or a part, with its rows' weights) on one server. */
export async function weightedMeansCall(
  server: PoolServer,
  file: string,
  weights: number[],
  options: TableCallOptions & { divisor?: DivisorName } = {},
): Promise<WeightedMeansResult> {
  async function* requests(): AsyncGenerator<WeightedMeansRequest> {
    yield {
      options: {
        table: tableOptions(file, options),
        weights,
        divisor: options.divisor === "rows" ? Divisor.DIVISOR_ROWS : Divisor.DIVISOR_WEIGHTS,
      },
    };
    yield* tableChunks(file, options);
  }
  const reply = await server.clientStream(computeMethods.weightedMeans!, requests(), options);
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
    bytes: reply.bytes,
  };
}
