import { tableDialect } from "../../csv/read-options.js";
import { type ExactSumWire, emptyWire } from "../../exact/exact-wire.js";
import type {
  ColumnSumsRequest,
  ColumnSumsResponse,
  WeightedMeansRequest,
  WeightedMeansResponse,
} from "../../gen/rpcpool/compute/v1/compute.js";
import { Divisor } from "../../gen/rpcpool/compute/v1/compute.js";
import type { ServedBy, TableOptions } from "../../gen/rpcpool/compute/v1/table.js";
import { BadReply } from "../../pool/bad-reply.js";
import type { PoolServer } from "../../pool/server-connection.js";
import type { CallOptions } from "../../rpc/call-options.js";
import { ClientError } from "../../rpc/client-error.js";
import { Status as status } from "../../rpc/grpc-status.js";
import type { MethodSpec } from "../../rpc/method-spec.js";
import { computeMethods } from "./lesson-methods.js";
import { checkColumnSums, checkWeightedMeans } from "./lesson-replies.js";
import { linesBefore, type TablePart } from "./line-cuts.js";
import { ReadBuffers } from "./read-buffers.js";
import { filled } from "./stream-parts.js";

export type { TablePart };

import {
  changedError,
  chunkBytesFor,
  fileChunks,
  type InputSource,
  type ReadInto,
  type TableReadOptions,
} from "./table-input.js";

type LiveSource = Extract<InputSource, { kind: "live" }>;

/** Held bytes as messages of at most `most` bytes (a server may take smaller ones than they were read in). */
function* messages(content: readonly Buffer[], most: number): Generator<Buffer> {
  for (const chunk of content) {
    for (let p = 0; p < chunk.length; p += most)
      yield p === 0 && chunk.length <= most ? chunk : chunk.subarray(p, p + most);
  }
}

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
  /** With --columns: the selected columns' header names, or their 1-based numbers (no header). */
  columnNames: string[];
  /**
   * Lines the server read, the header and blank lines included: what places a later part's
   * refusal of a stream in the whole table (table-job.ts), where the client counted none.
   */
  lines?: number;
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
  columnNames: string[];
}

export type DivisorName = "weights" | "rows";

/** Everything a table call takes besides the server and the file: one options object. */
export interface TableCallOptions extends CallOptions {
  read?: TableReadOptions;
  /** A row range of a split file, instead of the whole file. */
  part?: TablePart;
  /** The file is a path under the server's --data-root: only the path travels. */
  remote?: boolean;
  /**
   * The table is a value in the server's store (`pool.scatter` or `pool.broadcast` put it there):
   * only this handle travels. `file` is then only its name in results and errors.
   */
  tableHandle?: string;
  /** What the job's plan found the file to be: its snapshot, or its content when it is a pipe. */
  source?: InputSource;
  /** Told of the bytes sent as they go (progress bars). */
  onBytes?: (bytes: number) => void;
}

/** The first message of a table call: how to read the file (or its part), and where it is. */
export function tableOptions(file: string, options: TableCallOptions): TableOptions {
  const { part, remote, tableHandle = "" } = options;
  const { delimiter, decimal, header, columns } = tableDialect(options.read);
  return {
    fileName: file,
    delimiter,
    decimal,
    header,
    // A part after the first has no header: the plan resolved the names to numbers for it.
    columns: part?.select ?? columns,
    firstLine: part?.firstLine ?? 0,
    continuesFile: part !== undefined && part.start > 0,
    remotePath: remote ? file : "",
    rangeStart: remote ? (part?.start ?? 0) : 0,
    rangeEnd: remote ? (part?.end ?? 0) : 0,
    expectedColumns: part?.columns ?? 0,
    // A part's own rounded values are not wanted (nor refused): the merged exact sums count.
    exactOnly: part !== undefined,
    tableHandle,
  };
}

/**
 * A table's bytes for one call, counted as they go: none when the server reads the file, the
 * content read at planning for a pipe, else the file or its part (checked against the plan).
 */
class TableUpload {
  sent = 0;
  reading: Promise<unknown> | undefined;
  readonly buffers: ReadBuffers;

  constructor(
    readonly file: string,
    readonly options: TableCallOptions,
    server: PoolServer,
  ) {
    this.buffers = new ReadBuffers(chunkBytesFor(Number(server.info?.maxMessageBytes ?? 0)));
  }

  async *chunks() {
    const { remote, part, source, onBytes, tableHandle } = this.options;
    if (remote || tableHandle) return;
    if (source?.kind === "unreadable") throw source.error;
    const chunks =
      source?.kind === "stream"
        ? messages(source.content, this.buffers.size)
        : source?.kind === "live"
          ? this.live(source)
          : fileChunks(this.file, part?.start ?? 0, part?.end, source?.snapshot, this.buffers);
    for await (const chunk of chunks) {
      this.sent += chunk.byteLength;
      onBytes?.(chunk.byteLength);
      yield { chunk };
    }
  }

  /**
   * A stream sent whole as it is read, in the read buffers' messages: it can be read once, so an
   * attempt after one that had read some of it cannot send it again (it would send only the rest).
   */
  async *live(source: LiveSource): AsyncGenerator<Buffer> {
    if (source.started) {
      throw new ClientError(
        status.ABORTED,
        `${this.file}: can be read once, and ${source.failed ?? "its server failed"} after some of it was sent: give --split SIZE to send it in parts that can be sent again`,
      );
    }
    // The read in progress, which a failed call waits for (see send).
    const read: ReadInto = (buffer, offset, length) => {
      const reading = source.read(buffer, offset, length);
      this.reading = reading.catch(() => 0);
      return reading;
    };
    for await (const chunk of filled(read, () => this.buffers.take())) {
      source.started = true;
      yield chunk;
    }
  }

  /**
   * Runs the call with this upload's requests: each chunk's buffer is read into again once the
   * transport has written it; a refusal is placed in the whole file.
   */
  async send<Req extends { chunk?: Uint8Array }, Res>(
    server: PoolServer,
    method: MethodSpec<Req, Res>,
    requests: AsyncIterable<Req>,
  ): Promise<Res> {
    try {
      return await server.clientStream(method, requests, {
        ...this.options,
        onWritten: (request) => this.buffers.give(request.chunk),
      });
    } catch (error) {
      const source = this.options.source;
      if (source?.kind === "live" && error instanceof ClientError && !source.failed)
        source.failed = `${error.server ?? server.address} failed (${error.codeName}: ${error.details})`;
      // A read of a pipe cannot be cancelled: it waits in libuv's thread pool until the pipe
      // gives bytes or ends, and a process cannot exit while one waits. The call ends with it, so
      // Ctrl-C on a silent pipe behaves as before the stream was sent as read: the job waits,
      // and a second Ctrl-C ends the process at once.
      if (this.reading) await this.reading;
      throw await this.placed(error);
    } finally {
      this.buffers.close();
    }
  }

  /**
   * A refusal from a part whose first line the plan did not count names a line of the part: it is
   * placed in the whole file here, so that it reads as if the file had not been cut.
   */
  async placed(error: unknown): Promise<unknown> {
    const part = this.options.part;
    if (!(error instanceof ClientError) || !part || part.firstLine !== 0 || part.start === 0) return error;
    // A stream's bytes before this part are gone: its job places it from the servers' line counts.
    if (this.options.source?.kind === "stream" || refusedLine(error) === undefined) return error;
    return placedAfter(error, await linesBefore(this.file, part.start));
  }

  /**
   * The reply's counts against what was sent and planned. The bytes were counted here, so a server
   * that read another number is at fault; a part whose rows are not the plan's was read from a
   * file rewritten since (with its size and times put back): the file is refused, not mixed.
   */
  checkCounts(server: string, reply: { bytes: number; rows: number }): void {
    if (this.options.remote || this.options.tableHandle) return;
    if (reply.bytes !== this.sent)
      throw new BadReply(server, `it read ${reply.bytes} bytes of the ${this.sent} sent`);
    const part = this.options.part;
    if (part?.rows !== undefined && reply.rows !== part.rows) {
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
  const upload = new TableUpload(file, options, server);
  async function* requests(): AsyncGenerator<ColumnSumsRequest> {
    yield { options: tableOptions(file, options) };
    yield* upload.chunks();
  }
  const reply = await upload.send(server, computeMethods.columnSums!, requests());
  checkColumnSums(server.address, reply, { exactOnly: options.part !== undefined });
  upload.checkCounts(server.address, reply);
  return columnSumsResult(file, reply);
}

/** A checked ColumnSums reply as a file's result (a call's, or a queued task's). */
export function columnSumsResult(file: string, reply: ColumnSumsResponse): ColumnSumsResult {
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
    columnNames: reply.columnNames ?? [],
    lines: reply.lines,
  };
}

/**
 * Weights the server has in its store (`pool.broadcast` of little-endian float64s, see
 * `weightsBytes`): `count` of them from `offset` (0: all from the offset), padded with zeros.
 */
export interface StoredWeights {
  handle: string;
  offset?: number;
  count?: number;
}

/** Weights as the store keeps them for WeightedMeans: little-endian float64s. */
export function weightsBytes(weights: readonly number[]): Buffer {
  const bytes = Buffer.allocUnsafe(weights.length * 8);
  weights.forEach((w, i) => {
    bytes.writeDoubleLE(w, i * 8);
  });
  return bytes;
}

/**
 * Weighted column means of a file (or a part, with its rows' weights) on one server: the weights
 * in the request, or a handle to weights broadcast to the servers' stores.
 */
export async function weightedMeansCall(
  server: PoolServer,
  file: string,
  weights: number[] | StoredWeights,
  options: TableCallOptions & { divisor?: DivisorName } = {},
): Promise<WeightedMeansResult> {
  const upload = new TableUpload(file, options, server);
  const stored = Array.isArray(weights) ? undefined : weights;
  async function* requests(): AsyncGenerator<WeightedMeansRequest> {
    yield {
      options: {
        table: tableOptions(file, options),
        weights: stored ? [] : (weights as number[]),
        divisor: options.divisor === "rows" ? Divisor.DIVISOR_ROWS : Divisor.DIVISOR_WEIGHTS,
        weightsHandle: stored?.handle ?? "",
        weightsOffset: stored?.offset ?? 0,
        weightsCount: stored?.count ?? 0,
      },
    };
    yield* upload.chunks();
  }
  const reply = await upload.send(server, computeMethods.weightedMeans!, requests());
  checkWeightedMeans(server.address, reply, { exactOnly: options.part !== undefined });
  upload.checkCounts(server.address, reply);
  return weightedMeansResult(file, reply);
}

/** A checked WeightedMeans reply as a file's result (a call's, or a queued task's). */
export function weightedMeansResult(file: string, reply: WeightedMeansResponse): WeightedMeansResult {
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
    columnNames: reply.columnNames ?? [],
  };
}

/** The line of the table a refusal names (its ErrorInfo's `line`), if it names one. */
export function refusedLine(error: ClientError): number | undefined {
  const line = Number(error.errorDetails.errorInfo?.metadata.line);
  return Number.isInteger(line) && line >= 1 ? line : undefined;
}

/** A part's refusal with its line moved down by the `before` lines of the table before the part. */
export function placedAfter(error: ClientError, before: number): ClientError {
  const info = error.errorDetails.errorInfo;
  const line = refusedLine(error);
  if (!info || line === undefined) return error;
  const absolute = line + before;
  return new ClientError(error.code, error.details.replace(`line ${line},`, `line ${absolute},`), {
    server: error.server,
    trailers: error.trailers,
    errorDetails: {
      ...error.errorDetails,
      errorInfo: { ...info, metadata: { ...info.metadata, line: String(absolute) } },
    },
  });
}
