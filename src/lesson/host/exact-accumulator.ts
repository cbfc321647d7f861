import {
  type ReadOptions,
  readOptionsFrom,
  type TableDialect,
  tableDialect,
} from "../../csv/read-options.js";
import type { ExactSumWire } from "../../exact/exact-wire.js";
import {
  type AddTableRequest,
  type AddTableResponse,
  type InitRequest,
  ProgressServiceDefinition,
  TableSourceServiceDefinition,
} from "../../gen/rpcpool/compute/v1/accumulator.js";
import type { ServiceTools } from "../../host/hosted-service.js";
import { servedBy } from "../../host/identity.js";
import type { SessionCallContext, SessionClassFactory } from "../../host/session-context.js";
import { invalidArgument } from "../../rpc/server-error.js";
import { mergeExact, roundSums } from "../compute/merge-pieces.js";
import { refusing } from "./refusing.js";
import { sumTable, type TableLimits, type TableWork } from "./table-stream.js";

export interface AccumulatorOptions {
  tools: ServiceTools;
  /** The server's table work (worker threads, piece slots), shared with ComputeService. */
  work: TableWork;
  limits: TableLimits;
}

/**
 * rpcpool.compute.v1.ExactAccumulatorService as a session class: each object keeps the exact
 * column sums of the tables added to it, here on the server between calls (RPyC's remote object
 * with state). A table's bytes are pulled from the client through its TableSourceService (RPyC's
 * callback), cut into pieces and summed on the worker threads as ColumnSums does, so the running
 * sums are bit-identical to ColumnSums over the tables' rows put together.
 */
export function exactAccumulator({ tools, work, limits }: AccumulatorOptions): SessionClassFactory {
  const { identity } = tools;
  return () => {
    let dialect: TableDialect = tableDialect();
    let read: ReadOptions = readOptionsFrom(dialect);
    let exact: ExactSumWire[] = [];
    let tables = 0;
    let rows = 0;
    let columns = 0;

    return {
      init: async ({ options }: InitRequest) => {
        try {
          dialect = tableDialect(options);
          read = readOptionsFrom(dialect);
        } catch (error) {
          throw invalidArgument((error as Error).message);
        }
        return { servedBy: servedBy(identity) };
      },

      addTable: async (
        { fileName }: AddTableRequest,
        context: SessionCallContext,
      ): Promise<AddTableResponse> => {
        const name = fileName || "(unnamed)";
        const { merger, bytes, threadId } = await sumTable(
          {
            fileName: name,
            read,
            columns: dialect.columns,
            firstLine: 1,
            expectedColumns: 0,
            chunks: pulled(name, context),
          },
          work,
          context,
          limits,
        );
        if (merger.rows > 0 && columns > 0 && merger.columns !== columns) {
          throw invalidArgument(
            `${name}: ${merger.columns} columns, but the tables added before have ${columns}`,
            {
              reason: "WIDTH_MISMATCH",
              fields: { file: name, columns: String(merger.columns), expected: String(columns) },
            },
          );
        }
        // Merged and rounded before anything changes: a sum beyond float64 refuses this table only.
        const merged = mergeExact([exact, merger.exactSums()]);
        const rounded = refusing(() => roundSums(merged), name);
        exact = merged;
        tables++;
        rows += merger.rows;
        if (merger.rows > 0) columns = merger.columns;
        return {
          rows: merger.rows,
          bytes,
          running: { tables, rows, columns, sums: rounded, exact },
          servedBy: servedBy(identity, threadId),
        };
      },

      sums: async () => ({
        running: { tables, rows, columns, sums: refusing(() => roundSums(exact)), exact },
        servedBy: servedBy(identity),
      }),
    };
  };
}

/**
 * The bytes of a table, pulled from the client one chunk per callback until an empty one; each
 * chunk is reported to the client's ProgressService when it exposes one.
 */
async function* pulled(fileName: string, context: SessionCallContext): AsyncGenerator<Uint8Array> {
  const source = context.callbacks(TableSourceServiceDefinition);
  const progress = context.exposes(ProgressServiceDefinition)
    ? context.callbacks(ProgressServiceDefinition)
    : undefined;
  let received = 0;
  for (;;) {
    const { chunk } = await source.call("nextChunk", { fileName });
    if (chunk.byteLength === 0) return;
    received += chunk.byteLength;
    await progress?.call("report", { fileName, bytes: received });
    yield chunk;
  }
}
