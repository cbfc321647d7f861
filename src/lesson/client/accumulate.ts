import {
  ExactAccumulatorServiceDefinition,
  ProgressServiceDefinition,
  TableSourceServiceDefinition,
} from "../../gen/rpcpool/compute/v1/accumulator.js";
import type { Pool } from "../../pool/pool.js";
import { ClientError } from "../../rpc/client-error.js";
import { Status as status } from "../../rpc/grpc-status.js";
import { tableOptions } from "./table-calls.js";
import { fileChunks, type TableReadOptions } from "./table-input.js";
import type { FileOutcome } from "./table-tasks.js";

export interface AccumulateOptions extends TableReadOptions {
  /** The server that holds the accumulator: an address or name of the pool's; default the least busy. */
  server?: string;
  /** Cancels the table being added and ends the session. */
  signal?: AbortSignal;
  /** Told, as the server pulls a table, how many of its bytes it has received (its progress callback). */
  onProgress?: (file: string, bytes: number) => void;
  /** Deadline of each table (default 10 minutes, as a table call's). */
  timeoutMs?: number;
}

/** The running sums after one more table. */
export interface AccumulatedTable {
  file: string;
  /** Data rows of this table. */
  rows: number;
  /** Tables added so far, this one included, and their data rows. */
  tables: number;
  totalRows: number;
  columns: number;
  /** Correctly rounded column sums of every table added so far. */
  sums: number[];
  server: string;
}

/**
 * The lesson's RPyC example: the tables added one at a time to one exact accumulator, an object
 * that lives on one server for the length of a session. The server pulls each file's bytes from
 * this client through a callback (the file is read here with backpressure, chunk by chunk, as it
 * asks) and answers the running exact column sums; after the last file they equal the column sums
 * of all the files' rows together, bit for bit. Yields after each file, in order; a file that is
 * refused (malformed, unreadable, another width) is yielded as its error and changes nothing.
 */
export async function* accumulateTables(
  pool: Pool,
  files: string[],
  options: AccumulateOptions = {},
): AsyncGenerator<FileOutcome<AccumulatedTable>> {
  const session = await pool.session(options.server, { signal: options.signal });
  try {
    const reading = new Map<string, AsyncIterator<Buffer>>();
    session.expose(TableSourceServiceDefinition, {
      nextChunk: async ({ fileName }) => {
        const chunks = reading.get(fileName);
        if (!chunks) throw new ClientError(status.FAILED_PRECONDITION, `${fileName} is not being added`);
        const next = await chunks.next();
        return { chunk: next.done ? Buffer.alloc(0) : next.value };
      },
    });
    const onProgress = options.onProgress;
    if (onProgress) {
      session.expose(ProgressServiceDefinition, {
        report: async ({ fileName, bytes }) => {
          onProgress(fileName, bytes);
          return {};
        },
      });
    }
    const accumulator = await session.create(ExactAccumulatorServiceDefinition, {
      // The file names come with each table added.
      options: { ...tableOptions("", { read: options }), exactOnly: false },
    });
    for (const file of files) {
      const chunks = fileChunks(file);
      reading.set(file, chunks);
      try {
        const added = await accumulator.call(
          "addTable",
          { fileName: file },
          { signal: options.signal, timeoutMs: options.timeoutMs ?? 10 * 60_000 },
        );
        const running = added.running!;
        yield {
          ok: true,
          value: {
            file,
            rows: added.rows,
            tables: running.tables,
            totalRows: running.rows,
            columns: running.columns,
            sums: running.sums,
            server: added.servedBy?.server || session.server,
          },
        };
      } catch (error) {
        // The session's end is everyone's failure; a refused file is its own.
        if (!session.isOpen) throw error;
        yield { ok: false, error: ClientError.from(error) };
      } finally {
        reading.delete(file);
        await chunks.return(undefined);
      }
    }
  } finally {
    await session.close();
  }
}
