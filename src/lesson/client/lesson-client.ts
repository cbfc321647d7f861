import type { CirclesResponse, MeansResponse } from "../../gen/rpcpool/compute/v1/compute.js";
import { ComputeServiceDefinition } from "../../gen/rpcpool/compute/v1/compute.js";
import {
  DemoServiceDefinition,
  type SleepResponse,
  type SpinResponse,
} from "../../gen/rpcpool/compute/v1/demo.js";
import type { RunOptions } from "../../pool/outcome.js";
import type { Pool } from "../../pool/pool.js";
import type { ServiceCallOptions } from "../../pool/service-client.js";
import { lessonReplyCheck } from "./lesson-replies.js";
import {
  type ColumnSumsResult,
  columnSumsCall,
  type DivisorName,
  type TableCallOptions,
  type WeightedMeansResult,
  weightedMeansCall,
} from "./table-calls.js";

/** A sleep's deadline: its own length plus the minute any small call gets. */
export const sleepTimeoutMs = (milliseconds: number) => milliseconds + 60_000;

/**
 * The lesson's computations as awaited calls on a pool: a client of the framework like any
 * user's. Unary methods go through `pool.service(...)`; tables stream through `pool.apply`.
 */
export class LessonClient {
  readonly compute;
  readonly demo;

  constructor(readonly pool: Pool) {
    // Replies are checked before they are believed: a malformed one moves the call to another server.
    this.compute = pool.service(ComputeServiceDefinition, { checkReply: lessonReplyCheck });
    this.demo = pool.service(DemoServiceDefinition, { checkReply: lessonReplyCheck });
  }

  /** Column sums of one file on the least busy server. */
  columnSums(file: string, options: TableCallOptions & RunOptions = {}): Promise<ColumnSumsResult> {
    return this.pool.apply((server, signal) => columnSumsCall(server, file, { ...options, signal }), options);
  }

  /** Weighted column means of one file: one weight per data row. */
  weightedMeans(
    file: string,
    weights: number[],
    options: TableCallOptions & RunOptions & { divisor?: DivisorName } = {},
  ): Promise<WeightedMeansResult> {
    return this.pool.apply(
      (server, signal) => weightedMeansCall(server, file, weights, { ...options, signal }),
      options,
    );
  }

  /** Lengths 2*pi*r and areas pi*r^2; pi defaults to Math.PI (the lesson uses 3.1415927). */
  circles(radii: number[], pi?: number, options: ServiceCallOptions = {}): Promise<CirclesResponse> {
    return this.compute.apply("circles", { radii, pi: pi ?? 0 }, options);
  }

  /** The mean of each list, correctly rounded. */
  means(lists: number[][], options: ServiceCallOptions = {}): Promise<MeansResponse> {
    return this.compute.apply("means", { lists: lists.map((values) => ({ values })) }, options);
  }

  /** The lesson's sleep, on a server (it holds no worker thread). */
  sleep(milliseconds: number, options: ServiceCallOptions = {}): Promise<SleepResponse> {
    return this.demo.apply(
      "sleep",
      { milliseconds },
      { timeoutMs: sleepTimeoutMs(milliseconds), ...options },
    );
  }

  /** The lesson's CPU-bound count, on a server's worker thread. */
  spin(iterations: number, options: ServiceCallOptions = {}): Promise<SpinResponse> {
    return this.demo.apply("spin", { iterations }, options);
  }
}
