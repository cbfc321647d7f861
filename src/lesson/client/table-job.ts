import { readOptionsFrom } from "../../csv/read-options.js";
import type { Outcome, PoolEvent } from "../../pool/outcome.js";
import type { Pool } from "../../pool/pool.js";
import type { PoolServer } from "../../pool/server-connection.js";
import { relativeSpeeds } from "../../pool/server-rates.js";
import { ClientError } from "../../rpc/client-error.js";
import { Status } from "../../rpc/grpc-status.js";
import type { SplitMode } from "./split-plan.js";
import { StreamLines } from "./stream-lines.js";
import { chunkPoolFor, streamChunkBytes, streamHeldBytes, streamParts } from "./stream-parts.js";
import {
  type ColumnSumsResult,
  columnSumsCall,
  type DivisorName,
  type StoredWeights,
  type TableCallOptions,
  type WeightedMeansResult,
  weightedMeansCall,
  weightsBytes,
} from "./table-calls.js";
import type { ReadInto, TableReadOptions } from "./table-input.js";
import { TableSpans } from "./table-spans.js";
import {
  byFile,
  type FileOutcome,
  mergeColumnSums,
  mergeWeightedMeans,
  planTableTasks,
  selectedNumbers,
  type TableTask,
  weightsFor,
} from "./table-tasks.js";

/** How a job over tables runs: how to read them, whether to cut them, and who hears of progress. */
export interface TableJobOptions {
  read?: TableReadOptions;
  /** Cut large files into row ranges for every server (default: auto). */
  split?: SplitMode;
  /** FILEs are paths under each server's --data-root: only paths travel. */
  remote?: boolean;
  retries?: number;
  signal?: AbortSignal;
  onEvent?: (event: PoolEvent) => void;
  /** Told of table bytes sent, as they go. */
  onBytes?: (bytes: number) => void;
  /** Told of the tasks once planned (a split file is several), before any runs. */
  onPlan?: (tasks: TableTask[]) => void;
}

/** How weighted means send their weights. */
export interface WeightsOptions {
  divisor?: DivisorName;
  /**
   * Broadcast the weights once to every server (docs/collectives.md) and send each table only
   * their handle: "auto" (the default) does when there is more than one task and every server
   * hosts the value store; false sends them with every table, as before.
   */
  broadcastWeights?: boolean | "auto";
}

/** A job's outcome per file (in input order), and the tasks that ran on more than one server. */
export interface TableJobResult<R> {
  files: FileOutcome<R>[];
  /** Tasks that ran on more than one server; `part` for a part of a split file. */
  retried: Array<{ file: string; part?: { number: number; of: number }; attempts: string[] }>;
}

type TableCall<R> = (task: TableTask, server: PoolServer, options: TableCallOptions) => Promise<R>;

/**
 * The shape every table job shares: cut files into tasks (split), run them over the pool with
 * failover, and regroup the outcomes by file so that each file's parts merge exactly. A stream
 * (`-`, a pipe) is cut as it is read when it is split (stream-parts.ts); its parts come after the
 * files' tasks, read as the pool has room for them, and each part's bytes are let go once it is
 * answered.
 */
async function runTableJob<R>(
  pool: Pool,
  files: string[],
  options: TableJobOptions & { countRows?: boolean },
  call: TableCall<R>,
  prepare?: (tasks: TableTask[]) => Promise<void>,
) {
  const remote = options.remote ?? false;
  const split = options.split ?? { kind: "auto" };
  const servers = pool.servers.length;
  const planned = await planTableTasks(files, {
    split,
    servers,
    speeds: relativeSpeeds(pool.servers),
    read: options.read,
    remote,
    countRows: options.countRows,
    live: true,
  });
  const partBytes = options.countRows ? undefined : streamPartBytes(split, servers);
  const cutLater = (task: TableTask) => task.source?.kind === "live" && partBytes !== undefined;
  // The files' tasks first, in the plan's order; then each stream's parts, as they are cut.
  const tasks = planned.filter((task) => !cutLater(task));
  const streams = planned.filter(cutLater);
  options.onPlan?.([...tasks, ...streams]);
  const pipelined = streams.length === 0 && tasks.every(isSmallFile);
  await prepare?.(tasks);
  const spans = new TableSpans(tasks);
  const chunkPool = chunkPoolFor(partBytes ?? streamChunkBytes);
  const unfinished = new Set(streams.map((s) => s.fileIndex));
  // A stream that could not be read to its end: its error, for its file alone.
  const unread = new Map<number, ClientError>();
  async function* inputs(): AsyncGenerator<TableTask> {
    yield* [...tasks];
    for (const stream of streams) {
      const parts = streamParts((stream.source as { read: ReadInto }).read, {
        ...readOptionsFrom(options.read ?? {}),
        partBytes: partBytes!,
        pool: chunkPool,
      });
      let first = true;
      try {
        for await (const { part, content, bytes, head, last } of parts) {
          const whole = first && last;
          first = false;
          if (!whole && part.start > 0) part.select = selectedNumbers(options.read, head.header) ?? [];
          const source = { kind: "stream" as const, content, bytes };
          const task: TableTask = { ...stream, part: whole ? undefined : part, source, bytes };
          tasks.push(task);
          yield task;
        }
        unfinished.delete(stream.fileIndex);
      } catch (error) {
        unread.set(stream.fileIndex, ClientError.from(error));
      }
    }
  }
  const outcomes: Outcome<R>[] = [];
  const streamLines = new StreamLines();
  const run = pool.asCompleted(
    inputs(),
    (task, server, signal) =>
      spans.attempt(task, () =>
        call(task, server, {
          read: options.read,
          part: task.part,
          remote,
          source: task.source,
          signal,
          onBytes: options.onBytes,
        }),
      ),
    {
      onEvent: options.onEvent,
      retries: options.retries,
      signal: options.signal,
      // Small whole files: two calls per worker thread, so that a server receives the next file
      // while its thread sums one (see pipelinedFileBytes).
      perWorker: pipelined ? 2 : undefined,
      // Servers' rates are measured in table bytes (a remote path's are unknown: it counts 1).
      weight: (task: TableTask) => task.bytes || 1,
      // Parts held: about streamHeldBytes, and no more than keep every server busy (small parts
      // are many calls); the files' tasks hold nothing. A part is cut where a buffer ends, so none
      // is smaller than a buffer, whatever --split asked.
      window:
        tasks.length +
        Math.max(
          2,
          Math.min(
            4 * servers + 2,
            Math.floor(streamHeldBytes / Math.max(partBytes ?? streamHeldBytes, chunkPool.size)),
          ),
        ),
    },
  );
  try {
    for await (const outcome of run) {
      outcomes[outcome.index] = outcome;
      // A stream's part is answered for good: its bytes go back to be read into.
      const task = tasks[outcome.index]!;
      if (task.source?.kind === "stream") {
        if (!outcome.ok) streamLines.unanswered(outcome.index, task.source.content);
        chunkPool.give(task.source.content);
        task.source = undefined;
      }
    }
  } finally {
    spans.finish();
  }
  streamLines.place(tasks, outcomes, new Set(streams.map((s) => s.fileIndex)));
  // A stream the job stopped reading (Ctrl-C) has no result: its parts so far are not the table.
  for (const stream of streams) {
    if (!unfinished.has(stream.fileIndex)) continue;
    const error =
      unread.get(stream.fileIndex) ??
      (options.signal?.aborted
        ? ClientError.from(options.signal.reason)
        : new ClientError(Status.CANCELLED, `${stream.file}: not read to its end`));
    tasks.push(stream);
    outcomes.push({ ok: false, index: outcomes.length, error, attempts: [] });
  }
  // A split file's parts are told apart by their place in it: "part 2 of 4".
  const partOf = (index: number) => {
    const task = tasks[index]!;
    const siblings = tasks.filter((t) => t.fileIndex === task.fileIndex);
    return siblings.length > 1 ? { number: siblings.indexOf(task) + 1, of: siblings.length } : undefined;
  };
  const retried = outcomes
    .filter((outcome) => outcome.attempts.length > 1)
    .map((outcome) => ({
      file: tasks[outcome.index]!.file,
      part: partOf(outcome.index),
      attempts: outcome.attempts,
    }));
  return { groups: byFile(files, tasks, outcomes), retried };
}

/**
 * A file at most this large goes in one call, the server's work on it is a piece or two, and a call
 * of its own is mostly trips: the client reading it and writing it, the server receiving it and
 * replying. With one call per worker thread those trips left each server idle between two files
 * (the lesson's ten 1 MB tables on two 1-thread servers: five calls on each one after another).
 * A job whose every task is such a file keeps two calls per thread in flight; larger files and
 * split parts keep one, as their pieces already keep every thread busy.
 */
export const pipelinedFileBytes = 4 << 20;

/** A whole local file of at most pipelinedFileBytes (not a part, a remote path or a stream). */
function isSmallFile(task: TableTask): boolean {
  return (
    task.part === undefined &&
    task.source?.kind === "file" &&
    task.bytes > 0 &&
    task.bytes <= pipelinedFileBytes
  );
}

/**
 * The part size of a stream (undefined: sent whole, as it is read). `auto` cuts it only for two
 * servers or more, as it would a large file, into parts that keep every server busy while the
 * parts held stay within streamHeldBytes; a SIZE is the user's; `none` never cuts.
 */
export function streamPartBytes(split: SplitMode, servers: number): number | undefined {
  if (split.kind === "none") return undefined;
  if (split.kind === "size") return split.bytes;
  if (servers < 2) return undefined;
  return Math.max(4 << 20, Math.min(32 << 20, Math.floor(streamHeldBytes / (servers + 2))));
}

/** Column sums of every file, parts of a split file merged exactly (bit-identical to one server's). */
export async function columnSumsJob(
  pool: Pool,
  files: string[],
  options: TableJobOptions = {},
): Promise<TableJobResult<ColumnSumsResult>> {
  const { groups, retried } = await runTableJob(pool, files, options, (task, server, callOptions) =>
    columnSumsCall(server, task.file, callOptions),
  );
  return { files: groups.map((group) => mergeColumnSums(group)), retried };
}

const storePut = "/rpcpool.pool.v1.StoreService/Put";

/**
 * Weighted column means of every file: each part gets its rows' weights; sums merge exactly. With
 * several tasks the weights are broadcast once per server and each call carries their handle.
 */
export async function weightedMeansJob(
  pool: Pool,
  files: string[],
  weights: number[],
  options: TableJobOptions & WeightsOptions = {},
): Promise<TableJobResult<WeightedMeansResult>> {
  const divisor = options.divisor ?? "weights";
  let stored: string | undefined;
  const broadcast = async (tasks: TableTask[]) => {
    const mode = options.broadcastWeights ?? "auto";
    const hosted = pool.servers.every((s) => s.info?.methods.some((m) => m.path === storePut) ?? false);
    if (mode === false || (mode === "auto" && (tasks.length < 2 || !hosted))) return;
    stored = (await pool.broadcast(weightsBytes(weights), { signal: options.signal })).id;
  };
  // A part without rows takes no weights (a count of 0 by handle would mean "all from the offset").
  const weightsOf = (task: TableTask): number[] | StoredWeights =>
    stored === undefined || (task.part && !task.part.rows)
      ? weightsFor(task, weights)
      : { handle: stored, offset: task.rowsBefore, count: task.part?.rows ?? 0 };
  // Each part gets its rows' weights: the plan counts rows.
  const counted = { ...options, countRows: true };
  const { groups, retried } = await runTableJob(
    pool,
    files,
    counted,
    (task, server, callOptions) =>
      weightedMeansCall(server, task.file, weightsOf(task), { ...callOptions, divisor }),
    broadcast,
  );
  return { files: groups.map((group) => mergeWeightedMeans(group, weights, divisor)), retried };
}
