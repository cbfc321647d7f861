import type { ComputeServiceDefinition } from "../../gen/rpcpool/compute/v1/compute.js";
import type { ServiceImplementation } from "../../host/service-implementation.js";
import type { MethodSpec } from "../../rpc/method-spec.js";
import { computeServiceDefinition } from "../compute-definition.js";

/**
 * A unary request that is not decoded on the event loop: decoding a 22 MiB Means request and
 * averaging its lists there stalled every other call of the server (health included) for seconds.
 * Above `largeRequestBytes` the host keeps the request's bytes, and its handler decodes and
 * answers it on a worker thread (small-replies.ts), replying with the encoded bytes.
 */
export class EncodedRequest {
  constructor(readonly bytes: Uint8Array) {}
}

/** A reply already encoded (on a worker thread): sent as it is. */
export class EncodedReply {
  constructor(readonly bytes: Uint8Array) {}
}

/**
 * Below this, decoding and computing on the event loop costs less than a trip to a worker thread
 * (tens of microseconds): small calls, the common case, keep their latency.
 */
export const largeRequestBytes = 64 << 10;

function decodedOnWorker<Req, Res>(
  method: MethodSpec<Req, Res>,
): MethodSpec<Req | EncodedRequest, Res | EncodedReply> {
  return {
    ...method,
    requestDeserialize: (bytes: Buffer) =>
      bytes.byteLength > largeRequestBytes ? new EncodedRequest(bytes) : method.requestDeserialize(bytes),
    responseSerialize: (value: Res | EncodedReply) =>
      value instanceof EncodedReply
        ? Buffer.from(value.bytes.buffer, value.bytes.byteOffset, value.bytes.byteLength)
        : method.responseSerialize(value),
    // An encoded reply is whole already: only a partial message gets the proto's defaults.
    responseFromPartial: (value: unknown) =>
      value instanceof EncodedReply || !method.responseFromPartial
        ? value
        : method.responseFromPartial(value),
  } as MethodSpec<Req | EncodedRequest, Res | EncodedReply>;
}

/**
 * ComputeService as the host serves it: the shared definition (the table codec), with the unary
 * methods whose work grows with their request decoded on a worker thread when large. Clients use
 * computeServiceDefinition: the bytes on the wire are the same.
 */
export const hostedComputeDefinition = {
  ...computeServiceDefinition,
  circles: decodedOnWorker(computeServiceDefinition.circles),
  means: decodedOnWorker(computeServiceDefinition.means),
  mergeColumnSums: decodedOnWorker(computeServiceDefinition.mergeColumnSums),
};

/** The methods whose large requests are answered on a worker thread. */
export type LargeMethod = "circles" | "means" | "mergeColumnSums";

type Implementation = ServiceImplementation<typeof ComputeServiceDefinition>;

/** ComputeService's handlers as the host serves them: the large methods take and give bytes too. */
export type HostedComputeHandlers = Omit<Implementation, LargeMethod> & {
  [K in LargeMethod]: Implementation[K] extends (request: infer Req, context: infer C) => Promise<infer Res>
    ? (request: Req | EncodedRequest, context: C) => Promise<Res | EncodedReply>
    : never;
};
