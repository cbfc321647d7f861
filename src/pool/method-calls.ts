import { BinaryWriter } from "@bufbuild/protobuf/wire";
import {
  BatchServiceDefinition,
  type InvokeResponse,
  type InvokeResult,
} from "../gen/rpcpool/pool/v1/batch.js";
import type { CallOptions } from "../rpc/call-options.js";
import { ClientError } from "../rpc/client-error.js";
import { Status as status } from "../rpc/grpc-status.js";
import { type MethodSpec, methodsOf, requestEncoderOf } from "../rpc/method-spec.js";
import { decodeStatus } from "../rpc/status-details.js";
import { BadReply } from "./bad-reply.js";
import type { Outcome, TaskFn } from "./outcome.js";
import { settledAsCompleted, settledInOrder, settledInOrderStream } from "./outcome-streams.js";
import type { PoolRuns } from "./pool-runs.js";
import type { Inputs, OutcomeSource } from "./run-verbs.js";
import type { PoolServer } from "./server-connection.js";
import type { ServiceCallOptions, ServiceOptions } from "./service-options.js";
import { blamesServer } from "./task-engine.js";
import type { RunSettings } from "./task-run.js";

const batchInvoke = methodsOf(BatchServiceDefinition).invoke!;

/** A batch whose items are still messages, with how to write one into the batch's writer. */
export interface WrittenBatch {
  method: string;
  requests: unknown[];
  encode: (value: unknown, writer: BinaryWriter) => void;
}

/**
 * BatchService/Invoke with each item encoded straight into the batch's message (field 2, length-
 * delimited, in one writer), not encoded alone and then copied: the same bytes as InvokeRequest's.
 */
const batchInvokeWritten = {
  ...batchInvoke,
  requestSerialize: writeBatch,
  // Sent only, never received here: what the server decodes is a plain InvokeRequest.
} as unknown as MethodSpec<WrittenBatch, InvokeResponse>;

/** An InvokeRequest's bytes, each item written straight into the one writer (field 2, length-delimited). */
export function writeBatch({ method, requests, encode }: WrittenBatch): Buffer {
  const writer = new BinaryWriter();
  writer.uint32(10).string(method);
  for (const request of requests) {
    writer.uint32(18).fork();
    encode(request, writer);
    writer.join();
  }
  const bytes = writer.finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The calls of one unary method of a service over the pool, as the run verbs take them: one call
 * per input, or with a `chunksize` many inputs per BatchService round trip (a plain gRPC server,
 * which has no BatchService, takes a chunk call by call). Each input keeps its own outcome.
 */
export class MethodCalls implements OutcomeSource<unknown, unknown, ServiceCallOptions> {
  constructor(
    readonly runs: PoolRuns,
    readonly spec: MethodSpec,
    readonly service: ServiceOptions,
  ) {}

  /**
   * A run's settings: a task whose call may have reached its server runs again as the proto (or
   * the caller: `idempotent`, or `retries` of its own) allows; only servers hosting the method.
   */
  settings(options: ServiceCallOptions): RunSettings {
    const idempotent =
      options.idempotent ??
      this.service.idempotent ??
      (options.retries ? true : this.runs.defaults.policy(this.spec).retry);
    const priority = options.priority ?? this.service.priority ?? this.runs.options.priority;
    return this.runs.runSettings({ ...options, method: this.spec.path, idempotent, priority }, this.service);
  }

  callOptions(options: ServiceCallOptions, signal: AbortSignal): CallOptions {
    const priority = options.priority ?? this.service.priority ?? this.runs.options.priority;
    // The server orders this client's calls by it (docs/scheduling.md); 0, the default, goes unsaid.
    const name = this.runs.options.clientName;
    const metadata =
      (priority === undefined || priority === 0) && !name
        ? options.metadata
        : {
            ...(name ? { "rpcpool-client": name } : {}),
            ...(priority ? { "rpcpool-priority": String(Math.trunc(priority)) } : {}),
            ...options.metadata,
          };
    return { signal, timeoutMs: options.timeoutMs ?? this.service.timeoutMs, metadata };
  }

  async settled(inputs: Inputs<unknown>, options: ServiceCallOptions): Promise<Outcome<unknown>[]> {
    const chunksize = chunksizeOf(options);
    const { engine } = this.runs;
    if (chunksize === 1) return settledInOrder(engine, inputs, this.callFn(options), this.settings(options));
    const outcomes: Outcome<unknown>[] = [];
    const lengths = new Map<number, number>();
    for (const batch of await settledInOrder(
      engine,
      chunked(inputs, chunksize, lengths),
      this.#batchFn(options),
      { ...this.settings(options), perWorker: 2 },
    )) {
      for (const outcome of itemOutcomes(batch, chunksize, lengths)) outcomes.push(outcome);
    }
    return outcomes;
  }

  async *streamed(
    inputs: Inputs<unknown>,
    options: ServiceCallOptions,
    order: "input" | "completion",
  ): AsyncGenerator<Outcome<unknown>> {
    const streamOf = order === "input" ? settledInOrderStream : settledAsCompleted;
    const chunksize = chunksizeOf(options);
    const settings = this.settings(options);
    const { engine } = this.runs;
    // The window counts inputs; batches travel whole, and each server keeps some in the pipeline.
    const window = options.window
      ? Math.max(1, Math.ceil(options.window / chunksize))
      : Math.max(Math.ceil(this.runs.window(options) / chunksize), 8 * this.runs.slots());
    if (chunksize === 1) {
      yield* streamOf(engine, inputs, this.callFn(options), settings, window);
      return;
    }
    const lengths = new Map<number, number>();
    // Two batches per worker thread: one runs while the other travels.
    for await (const batch of streamOf(
      engine,
      chunked(inputs, chunksize, lengths),
      this.#batchFn(options),
      { ...settings, perWorker: 2 },
      window,
    )) {
      yield* itemOutcomes(batch, chunksize, lengths);
    }
  }

  /** The settings and task of a coalesced batch: the same for every batch, made once (~35 µs each). */
  #coalesced?: { settings: RunSettings; fn: TaskFn<unknown[], BatchItem[]> };

  /** Many calls in one round trip on the least busy server (a coalesced batch): one outcome per request. */
  async batch(requests: unknown[]): Promise<Outcome<unknown>[]> {
    const lengths = new Map([[0, requests.length]]);
    this.#coalesced ??= {
      settings: { ...this.settings({}), perServer: Number.POSITIVE_INFINITY },
      fn: this.#batchFn({}),
    };
    const { settings, fn } = this.#coalesced;
    const [batch] = await settledInOrder(this.runs.engine, [requests], fn, settings);
    return [...itemOutcomes(batch!, requests.length, lengths)];
  }

  /** A task that calls the method once; a reply that fails the check fails the call as its server's fault. */
  callFn(options: ServiceCallOptions): TaskFn<unknown, unknown> {
    const { spec } = this;
    if (spec.requestStream || spec.responseStream) {
      throw new ClientError(
        status.INVALID_ARGUMENT,
        `${spec.name} is a streaming method: call it with serverStream, clientStream or duplex`,
      );
    }
    const check = this.service.checkReply;
    return async (request, server: PoolServer, signal) => {
      const reply = await server.unary(spec, request, this.callOptions(options, signal));
      check?.(spec.name, request, reply, server.address);
      return reply;
    };
  }

  /**
   * A task that sends a chunk of requests in one BatchService round trip. A reply with another
   * count of results, or an item that does not decode (or fails the check), fails the batch as
   * its server's fault: the whole batch runs again elsewhere.
   */
  #batchFn(options: ServiceCallOptions): TaskFn<unknown[], BatchItem[]> {
    const { spec } = this;
    const check = this.service.checkReply;
    const encode = requestEncoderOf(spec);
    return async (requests, server, signal) => {
      if (!server.hosts(batchInvoke.path)) return this.#oneByOne(requests, server, options, signal);
      const callOptions = {
        ...this.callOptions(options, signal),
        timeoutMs: options.timeoutMs ?? this.service.timeoutMs ?? this.runs.defaults.policy(spec).timeoutMs,
      };
      const reply = encode
        ? await server.unary(batchInvokeWritten, { method: spec.path, requests, encode }, callOptions)
        : await server.unary(
            batchInvoke,
            { method: spec.path, requests: requests.map((r) => spec.requestSerialize(r)) },
            callOptions,
          );
      if (reply.results.length !== requests.length) {
        throw new BadReply(
          server.address,
          `a batch of ${requests.length} requests came back with ${reply.results.length} results`,
        );
      }
      return reply.results.map((item, j) => {
        if (item.code !== status.OK) return { item };
        let value: unknown;
        try {
          value = spec.responseDeserialize(item.response);
        } catch (error) {
          throw new BadReply(server.address, `result ${j + 1} of a batch does not decode: ${error}`);
        }
        check?.(spec.name, requests[j], value, server.address);
        return { item, value };
      });
    };
  }

  /**
   * A batch on a server without BatchService (a plain gRPC server): its calls one by one, at
   * once. A failure that blames the server fails the batch (it runs again elsewhere); any other
   * is its item's own.
   */
  async #oneByOne(
    requests: unknown[],
    server: PoolServer,
    options: ServiceCallOptions,
    signal: AbortSignal,
  ): Promise<BatchItem[]> {
    const { spec } = this;
    const check = this.service.checkReply;
    const settled = await Promise.allSettled(
      requests.map((request) => server.unary(spec, request, this.callOptions(options, signal))),
    );
    return settled.map((result, j) => {
      if (result.status === "fulfilled") {
        check?.(spec.name, requests[j], result.value, server.address);
        return { item: okItem, value: result.value };
      }
      const error = ClientError.from(result.reason, server.address);
      if (blamesServer(error)) throw error;
      return {
        item: { code: error.code, message: error.details, response: empty, statusDetails: empty },
        error,
      };
    });
  }
}

function chunksizeOf(options: ServiceCallOptions): number {
  return Math.max(1, Math.floor(options.chunksize ?? 1));
}

/**
 * Groups inputs into arrays of `size`, lazily, for sync and async sources alike, noting each
 * chunk's length by its index (a failed batch fails as many items as it carried).
 */
async function* chunked<T>(
  inputs: Inputs<T>,
  size: number,
  lengths: Map<number, number>,
): AsyncGenerator<T[]> {
  let chunk: T[] = [];
  let index = 0;
  for await (const input of inputs) {
    chunk.push(input);
    if (chunk.length === size) {
      lengths.set(index++, size);
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) {
    lengths.set(index, chunk.length);
    yield chunk;
  }
}

/** One result of a batch, its reply decoded (and checked) when it succeeded; a call's own error when it had one. */
interface BatchItem {
  item: InvokeResult;
  value?: unknown;
  error?: ClientError;
}

const empty = Buffer.alloc(0);
const okItem: InvokeResult = { code: status.OK, message: "", response: empty, statusDetails: empty };

/** One outcome per item of a batch: a failed batch fails each item; an item keeps its own status. */
function* itemOutcomes(
  batch: Outcome<BatchItem[]>,
  size: number,
  lengths: Map<number, number>,
): Generator<Outcome<unknown>> {
  const first = batch.index * size;
  const length = lengths.get(batch.index) ?? size;
  lengths.delete(batch.index);
  if (!batch.ok) {
    for (let j = 0; j < length; j++) yield { ...batch, index: first + j };
    return;
  }
  for (const [j, { item, value, error }] of batch.value.entries()) {
    const index = first + j;
    const { server, attempts } = batch;
    if (error) yield { ok: false, index, error, server, attempts };
    else if (item.code === status.OK) yield { ok: true, index, value, server, attempts };
    else {
      const errorDetails = item.statusDetails.length > 0 ? safeDetails(item.statusDetails) : undefined;
      yield {
        ok: false,
        index,
        error: new ClientError(item.code, item.message, { server, errorDetails }),
        server,
        attempts,
      };
    }
  }
}

function safeDetails(bytes: Uint8Array) {
  try {
    return decodeStatus(bytes).details;
  } catch {
    return undefined;
  }
}
