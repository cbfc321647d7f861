import { threadId } from "node:worker_threads";
import { status } from "@grpc/grpc-js";
import {
  CirclesRequest,
  type CirclesResponse,
  ColumnSumsResponse,
  type MeansRequest,
  type MeansResponse,
  MergeColumnSumsRequest,
} from "../../gen/rpcpool/compute/v1/compute.js";
import { ServedBy } from "../../gen/rpcpool/compute/v1/table.js";
import { ServerError } from "../../rpc/server-error.js";
import { lengthDelimited, packedDoubles } from "../../wire/repeated-field.js";
import { meansFromBytes } from "../compute/means-from-bytes.js";
import { mergeColumnSums } from "../compute/merge-column-sums.js";
import { circles, meansOfLists } from "../compute/small-computations.js";
import type { LargeMethod } from "./large-requests.js";
import { refusing } from "./refusing.js";

/**
 * The replies of the lesson's unary methods, from their requests: on the event loop for a small
 * request, and on a worker thread (`replyTo`, from the request's bytes) for one whose work grows
 * with its size, so that a large but legal request never stalls the server's other calls.
 */
export const smallReplies = new URL("./small-replies.js", import.meta.url);

export function circlesReply(request: CirclesRequest, servedBy: ServedBy): CirclesResponse {
  return {
    ...refusing(() => circles(request.radii, request.pi === 0 ? Math.PI : request.pi)),
    servedBy,
  };
}

export function meansReply(request: MeansRequest, servedBy: ServedBy): MeansResponse {
  return { means: refusing(() => meansOfLists(request.lists.map((list) => list.values))), servedBy };
}

export function mergeReply(request: MergeColumnSumsRequest, servedBy: ServedBy): ColumnSumsResponse {
  return { ...refusing(() => mergeColumnSums(request.parts)), servedBy };
}

/**
 * Bytes of a packed repeated double field of n values: its tag, its length and 8 bytes a value.
 * A Circles reply is two of them (lengths and areas) and its served_by.
 */
function circlesReplyBytes(radii: number): number {
  const packed = 8 * radii;
  return 2 * (1 + Math.ceil(Math.max(1, Math.log2(packed + 1)) / 7) + packed) + 512;
}

/**
 * On a worker thread: decodes a request, refuses a reply that would pass `maxReplyBytes` before
 * computing it (RESOURCE_EXHAUSTED, naming how many items a call may carry), computes the reply
 * and returns it encoded.
 */
export function replyTo(
  method: LargeMethod,
  bytes: Uint8Array,
  servedBy: ServedBy,
  maxReplyBytes: number,
): Uint8Array {
  const served = { ...servedBy, threadId };
  if (method === "circles") {
    const request = CirclesRequest.decode(bytes);
    const replyBytes = circlesReplyBytes(request.radii.length);
    if (replyBytes > maxReplyBytes) {
      const most = Math.floor((maxReplyBytes - 1024) / 16);
      throw new ServerError(
        status.RESOURCE_EXHAUSTED,
        `the reply to ${request.radii.length} radii would be ${replyBytes} bytes, more than this server's message cap of ${maxReplyBytes} bytes (--max-message-bytes): send at most ${most} radii a call (map them with a chunksize)`,
      );
    }
    const { lengths, areas } = circlesReply(request, served);
    // CirclesResponse { repeated double lengths = 1; repeated double areas = 2; ServedBy served_by = 3; }
    return Buffer.concat([
      packedDoubles(1, lengths),
      packedDoubles(2, areas),
      lengthDelimited(3, ServedBy.encode(served).finish()),
    ]);
  }
  // A mean per list and one merged part: these replies are smaller than their requests. The
  // lists are read in place: decoded into messages they take five times their bytes.
  if (method === "means") {
    const means = refusing(() => meansFromBytes(bytes));
    // MeansResponse { repeated double means = 1; ServedBy served_by = 2; }
    return Buffer.concat([packedDoubles(1, means), lengthDelimited(2, ServedBy.encode(served).finish())]);
  }
  return ColumnSumsResponse.encode(mergeReply(MergeColumnSumsRequest.decode(bytes), served)).finish();
}
