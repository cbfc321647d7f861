import { ExactSum } from "../../exact/exact-sum.js";
import { addWire, type ExactSumWire } from "../../exact/exact-wire.js";
import type {
  CirclesRequest,
  CirclesResponse,
  ColumnSumsResponse,
  MeansRequest,
  MeansResponse,
  WeightedMeansResponse,
} from "../../gen/rpcpool/compute/v1/compute.js";
import type { SleepResponse, SpinRequest, SpinResponse } from "../../gen/rpcpool/compute/v1/demo.js";
import type { ServedBy } from "../../gen/rpcpool/compute/v1/table.js";
import { BadReply, countField, expectLength, finiteNumbers, type ReplyCheck } from "../../pool/bad-reply.js";

/**
 * The lesson's replies checked against their requests before anything is printed or merged: every
 * field present, every count as the request calls for, every number finite. A reply that fails is
 * its server's fault (BadReply): the task moves to another server.
 */

/** Who ran a call: required of every lesson reply. */
export function checkServedBy(server: string, servedBy: ServedBy | undefined): ServedBy {
  if (!servedBy || typeof servedBy.server !== "string") throw new BadReply(server, "served_by is missing");
  countField(server, "served_by.pid", servedBy.pid);
  countField(server, "served_by.thread_id", servedBy.threadId);
  return servedBy;
}

/** What a table call expects of its reply. */
export interface TableExpectation {
  /** The call asked for exact sums only (a part of a split file): no rounded values come back. */
  exactOnly: boolean;
}

/** A column-sums reply: counts, as many sums (unless exact only) and exact sums as columns. */
export function checkColumnSums(server: string, reply: ColumnSumsResponse, expect: TableExpectation): void {
  countField(server, "rows", reply.rows);
  const columns = countField(server, "columns", reply.columns);
  countField(server, "bytes", reply.bytes);
  checkServedBy(server, reply.servedBy);
  expectLength(server, "sums", finiteNumbers(server, "sums", reply.sums), expect.exactOnly ? 0 : columns);
  checkExactSums(server, "exact", expectLength(server, "exact sums", reply.exact ?? [], columns));
}

/** A weighted-means reply: the same, with means and the exact sums of w*x and of w. */
export function checkWeightedMeans(
  server: string,
  reply: WeightedMeansResponse,
  expect: TableExpectation,
): void {
  countField(server, "rows", reply.rows);
  const columns = countField(server, "columns", reply.columns);
  countField(server, "bytes", reply.bytes);
  checkServedBy(server, reply.servedBy);
  expectLength(server, "means", finiteNumbers(server, "means", reply.means), expect.exactOnly ? 0 : columns);
  checkExactSums(
    server,
    "weighted_sums",
    expectLength(server, "weighted sums", reply.weightedSums ?? [], columns),
  );
  if (reply.weightSum) checkExactSums(server, "weight_sum", [reply.weightSum]);
}

/** Exact sums as the merger reads them: finite partials, exponents in range. */
function checkExactSums(server: string, name: string, wires: ExactSumWire[]): void {
  for (const [i, wire] of wires.entries()) {
    try {
      addWire(new ExactSum(), wire);
    } catch (error) {
      throw new BadReply(server, `${name}[${i}] is not an exact sum: ${(error as Error).message}`);
    }
  }
}

function checkCircles(server: string, request: CirclesRequest, reply: CirclesResponse): void {
  const n = request.radii.length;
  expectLength(server, "lengths", finiteNumbers(server, "lengths", reply.lengths), n);
  expectLength(server, "areas", finiteNumbers(server, "areas", reply.areas), n);
  checkServedBy(server, reply.servedBy);
}

function checkMeans(server: string, request: MeansRequest, reply: MeansResponse): void {
  expectLength(server, "means", finiteNumbers(server, "means", reply.means), request.lists.length);
  checkServedBy(server, reply.servedBy);
}

/** A sleep's or a spin's reply: who ran it and for how long; a spin also the count it reached. */
export function checkTimed(server: string, reply: SleepResponse | SpinResponse, request?: SpinRequest): void {
  checkServedBy(server, reply.servedBy);
  const [elapsed] = finiteNumbers(server, "elapsed_ms", [reply.elapsedMs]);
  if (elapsed! < 0) throw new BadReply(server, `elapsed_ms is ${elapsed}`);
  if (request && (reply as SpinResponse).count !== request.iterations) {
    throw new BadReply(server, `counted to ${(reply as SpinResponse).count}, not ${request.iterations}`);
  }
}

/** The check of the lesson's unary methods, for `pool.service(..., { checkReply })`. */
export const lessonReplyCheck: ReplyCheck = (method, request, reply, server) => {
  if (typeof reply !== "object" || reply === null) throw new BadReply(server, "no reply message");
  switch (method) {
    case "circles":
      return checkCircles(server, request as CirclesRequest, reply as CirclesResponse);
    case "means":
      return checkMeans(server, request as MeansRequest, reply as MeansResponse);
    case "sleep":
      return checkTimed(server, reply as SleepResponse);
    case "spin":
      return checkTimed(server, reply as SpinResponse, request as SpinRequest);
  }
};
