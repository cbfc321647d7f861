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
  /** Exact sums (Shewchuk partials) per column, for merging parts. */
  exact: number[][];
}

export interface WeightedMeansResult {
  file: string;
  rows: number;
  columns: number;
  means: number[];
  server: string;
  servedBy: ServedBy;
}

export type DivisorName = "weights" | "rows";

/** Table calls also report the bytes they send, for progress displays. */
export interface TableCallControls extends CallControls {
  onBytes?: (bytes: number) => void;
}

/** Default deadline of a table call: generous, since a table may be large; keepalive catches dead peers. */
export const tableTimeoutMs = 10 * 60_000;

function tableOptions(file: string, read: TableReadOptions) {
  return {
    fileName: file,
    delimiter: delimiterCharacter(read.delimiter) ?? "",
    decimal: read.decimal ?? "",
    header: read.header ?? false,
    firstLine: 0,
    continuesFile: false,
    remotePath: "",
    rangeStart: 0,
    rangeEnd: 0,
  };
}

export async function columnSumsCall(
  server: ServerConnection,
  file: string,
  read: TableReadOptions = {},
  controls: TableCallControls = {},
): Promise<ColumnSumsResult> {
  async function* requests(): AsyncGenerator<ColumnSumsRequest> {
    yield { options: tableOptions(file, read) };
    for await (const chunk of fileChunks(file)) {
      controls.onBytes?.(chunk.byteLength);
      yield { chunk };
    }
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
    exact: reply.exact.map((e) => e.partials),
  };
}

export async function weightedMeansCall(
  server: ServerConnection,
  file: string,
  weights: number[],
  divisor: DivisorName = "weights",
  read: TableReadOptions = {},
  controls: TableCallControls = {},
): Promise<WeightedMeansResult> {
  async function* requests(): AsyncGenerator<WeightedMeansRequest> {
    yield {
      options: {
        table: tableOptions(file, read),
        weights,
        divisor: divisor === "rows" ? Divisor.DIVISOR_ROWS : Divisor.DIVISOR_WEIGHTS,
      },
    };
    for await (const chunk of fileChunks(file)) {
      controls.onBytes?.(chunk.byteLength);
      yield { chunk };
    }
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
  };
}
