import { status } from "@grpc/grpc-js";
import { BatchServiceService, type InvokeResult } from "../gen/rpcpool/compute/v1/batch.js";
import { asCompletedOutcomes } from "./as-completed.js";
import type { CallControls } from "./call-options.js";
import { ClientError } from "./client-error.js";
import { genericUnaryCall } from "./generic-unary.js";
import type { MapOptions, Pool } from "./pool.js";
import type { Outcome } from "./scheduler.js";
import type { ServerConnection } from "./server-connection.js";
import type { RequestOf, ResponseOf, ServiceDefinitionOf, UnaryMethodName } from "./service-types.js";

export interface ServiceOptions {
  /**
   * The service's methods may run twice without harm, so a call whose server failed is retried on
   * another. Off by default for user services: the first server may have done the work already.
   */
  idempotent?: boolean;
  /** Default deadline of a call, in milliseconds (default 60 s). */
  timeoutMs?: number;
}

export type ServiceMapOptions = MapOptions &
  Pick<CallControls, "timeoutMs"> & {
    /** Inputs per round trip, like Pool.map's chunksize: many tiny calls travel as one batch. */
    chunksize?: number;
  };

/**
 * The pool over any ts-proto grpc-js service: `pool.service(StatsServiceService).map("mean", inputs)`
 * spreads calls of one unary method over every server, typed by the service's own messages.
 */
export class ServicePool<D extends ServiceDefinitionOf> {
  constructor(
    readonly pool: Pool,
    readonly definition: D,
    readonly options: ServiceOptions = {},
  ) {}

  /** One call, on the least busy server. */
  async apply<K extends UnaryMethodName<D>>(
    method: K,
    request: RequestOf<D, K>,
    options: ServiceMapOptions = {},
  ): Promise<ResponseOf<D, K>> {
    const definition = this.definition[method]!;
    const { timeoutMs, retries } = this.#settings(options);
    return this.pool.apply(
      (server, signal) => genericUnaryCall(server, definition, request, { signal, timeoutMs }, timeoutMs),
      { ...options, retries },
    );
  }

  /** Every input through `method` across the servers; results in input order; throws the first failure. */
  async map<K extends UnaryMethodName<D>>(
    method: K,
    inputs: readonly RequestOf<D, K>[],
    options: ServiceMapOptions = {},
  ): Promise<ResponseOf<D, K>[]> {
    const outcomes = await this.mapSettled(method, inputs, options);
    return outcomes.map((outcome) => {
      if (!outcome.ok) throw outcome.error;
      return outcome.value;
    });
  }

  /** Every outcome, in input order. */
  async mapSettled<K extends UnaryMethodName<D>>(
    method: K,
    inputs: readonly RequestOf<D, K>[],
    options: ServiceMapOptions = {},
  ): Promise<Outcome<ResponseOf<D, K>>[]> {
    const outcomes: Outcome<ResponseOf<D, K>>[] = new Array(inputs.length);
    // Straight to the scheduler: no async iteration for a call that wants all results at once.
    await this.#run(
      method,
      inputs,
      options,
      (outcome) => {
        outcomes[outcome.index] = outcome;
      },
      options.signal,
    );
    return outcomes;
  }

  /** Outcomes as they complete (Dask's as_completed); each carries its input's index. */
  asCompleted<K extends UnaryMethodName<D>>(
    method: K,
    inputs: readonly RequestOf<D, K>[],
    options: ServiceMapOptions = {},
  ): AsyncIterable<Outcome<ResponseOf<D, K>>> {
    return asCompletedOutcomes<ResponseOf<D, K>>(
      (onOutcome, signal) => this.#run(method, inputs, options, onOutcome, signal),
      options.signal,
    );
  }

  /** A call's deadline, and its retries: none for a service not declared idempotent. */
  #settings(options: ServiceMapOptions) {
    return {
      timeoutMs: options.timeoutMs ?? this.options.timeoutMs ?? 60_000,
      retries: options.retries ?? (this.options.idempotent ? undefined : 0),
    };
  }

  /** Runs every input, batched or not, reporting each input's outcome as it settles. */
  #run<K extends UnaryMethodName<D>>(
    method: K,
    inputs: readonly RequestOf<D, K>[],
    options: ServiceMapOptions,
    onOutcome: (outcome: Outcome<ResponseOf<D, K>>) => void,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    const definition = this.definition[method]!;
    const { timeoutMs, retries } = this.#settings(options);
    const chunksize = Math.max(1, Math.floor(options.chunksize ?? 1));
    if (chunksize === 1) {
      return this.pool.mapSettled(
        inputs,
        (input, server, taskSignal) =>
          genericUnaryCall(server, definition, input, { signal: taskSignal, timeoutMs }, timeoutMs),
        { ...options, retries, signal, onOutcome: onOutcome as (o: Outcome<unknown>) => void },
      );
    }
    const batches: number[][] = [];
    for (let i = 0; i < inputs.length; i += chunksize) {
      batches.push(Array.from({ length: Math.min(chunksize, inputs.length - i) }, (_, j) => i + j));
    }
    return this.pool.mapSettled(
      batches,
      (batch, server, taskSignal) =>
        invokeBatch(
          server,
          definition,
          batch.map((i) => inputs[i]!),
          { signal: taskSignal, timeoutMs },
        ),
      {
        ...options,
        retries,
        signal,
        onOutcome: (outcome) => {
          const batch = batches[outcome.index]!;
          batch.forEach((index, j) => {
            if (!outcome.ok) {
              onOutcome({ ...outcome, index });
              return;
            }
            const item = (outcome.value as InvokeResult[])[j]!;
            onOutcome(
              item.code === status.OK
                ? {
                    ok: true,
                    index,
                    value: definition.responseDeserialize(item.response),
                    server: outcome.server,
                    attempts: outcome.attempts,
                  }
                : {
                    ok: false,
                    index,
                    error: new ClientError(item.code, item.message, outcome.server),
                    server: outcome.server,
                    attempts: outcome.attempts,
                  },
            );
          });
        },
      },
    );
  }
}

/** Many calls of one method in one round trip (rpcpool.compute.v1.BatchService). */
async function invokeBatch<Req, Res>(
  server: ServerConnection,
  method: {
    path: string;
    requestSerialize: (value: Req) => Buffer;
    responseDeserialize: (bytes: Buffer) => Res;
  },
  requests: Req[],
  controls: CallControls,
): Promise<InvokeResult[]> {
  const reply = await genericUnaryCall(
    server,
    BatchServiceService.invoke,
    { method: method.path, requests: requests.map((r) => method.requestSerialize(r)) },
    controls,
    controls.timeoutMs ?? 60_000,
  );
  return reply.results;
}
