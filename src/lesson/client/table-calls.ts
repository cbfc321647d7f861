import { type ExactSumWire, emptyWire } from "../../exact/exact-wire.js";
import type { ColumnSumsRequest, WeightedMeansRequest } from "../../gen/rpcpool/compute/v1/compute.js";
import { Divisor } from "../../gen/rpcpool/compute/v1/compute.js";
import type { ServedBy, TableOptions } from "../../gen/rpcpool/compute/v1/table.js";
import { BadReply } from "../../pool/bad-reply.js";
import type { PoolServer } from "../../pool/server-connection.js";
import type { CallOptions } from "../../rpc/call-options.js";
import { computeMethods } from "./lesson-methods.js";
import { checkColumnSums, checkWeightedMeans } from "./lesson-replies.js";
import {
  changedError,
  delimiterCharacter,
  fileChunks,
  type InputSource,
  type TableReadOptions,
} from "./table-input.js";

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
  /** What the job's plan found the file to be: its snapshot, or its content when it is a pipe. */
  source?: InputSource;
  /** Told of the bytes sent as they go (progress bars). */
  onBytes?: (bytes: number) => void;
}

/** The first message of a table call: how to read the file (or its part), and where it is. */
export function tableOptions(file: string, options: TableCallOptions): TableOptions {
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

/**
 * A table's bytes for one call, counted as they go: none when the server reads the file, the
 * content read at planning for a pipe, else the file or its part (checked against the plan).
 */
class TableUpload {
  sent = 0;

  constructor(
    readonly file: string,
    readonly options: TableCallOptions,
  ) {}

  async *chunks() {
    const { remote, part, source, onBytes } = this.options;
    if (remote) return;
    if (source?.kind === "unreadable") throw source.error;
    const chunks =
      source?.kind === "stream"
        ? source.content
        : fileChunks(this.file, part?.start ?? 0, part?.end, source?.snapshot);
    for await (const chunk of chunks) {
      this.sent += chunk.byteLength;
      onBytes?.(chunk.byteLength);
      yield { chunk };
    }
  }

  /**
   * The reply's counts against what was sent and planned. The bytes were counted here, so a server
   * that read another number is at fault; a part whose rows are not the plan's was read from a
   * file rewritten since (with its size and times put back): the file is refused, not mixed.
   */
  checkCounts(server: string, reply: { bytes: number; rows: number }): void {
    if (this.options.remote) return;
    if (reply.bytes !== this.sent)
      throw new BadReply(server, `it read ${reply.bytes} bytes of the ${this.sent} sent`);
    const part = this.options.part;
    if (part && reply.rows !== part.rows) {
      throw changedError(
        this.file,
        `the plan counted ${part.rows} rows from line ${part.firstLine}, the server ${reply.rows}`,
      );
    }
  }
}

/** Column sums of a file (or a part) on one server, the table streamed with backpressure. */
export async function columnSumsCall(
  server: PoolServer,
  file: string,
  options: TableCallOptions = {},
): Promise<ColumnSumsResult> {
  const upload = new TableUpload(file, options);
  async function* requests(): AsyncGenerator<ColumnSumsRequest> {
    yield { options: tableOptions(file, options) };
    yield* upload.chunks();
  }
  const reply = await server.clientStream(computeMethods.columnSums!, requests(), options);
  checkColumnSums(server.address, reply, { exactOnly: options.part !== undefined });
  upload.checkCounts(server.address, reply);
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
  const upload = new TableUpload(file, options);
  async function* requests(): AsyncGenerator<WeightedMeansRequest> {
    yield {
      options: {
        table: tableOptions(file, options),
        weights,
        divisor: options.divisor === "rows" ? Divisor.DIVISOR_ROWS : Divisor.DIVISOR_WEIGHTS,
      },
    };
    yield* upload.chunks();
  }
  const reply = await server.clientStream(computeMethods.weightedMeans!, requests(), options);
  checkWeightedMeans(server.address, reply, { exactOnly: options.part !== undefined });
  upload.checkCounts(server.address, reply);
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
