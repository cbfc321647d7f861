import { ComputeServiceDefinition } from "../gen/rpcpool/compute/v1/compute.js";
import { methodsOf } from "../rpc/method-spec.js";
import { withChunkCodec } from "../wire/chunk-codec.js";

/** Where a table's bytes travel in ColumnSumsRequest and WeightedMeansRequest: `bytes chunk = 2`. */
const chunk = { name: "chunk", number: 2 };
const methods = methodsOf(ComputeServiceDefinition);

/**
 * The lesson's ComputeService as hosts and clients use it: the proto's methods and idempotency,
 * with the one-copy codec for the messages that carry a table's bytes (the same wire format).
 */
export const computeServiceDefinition = {
  ...methods,
  columnSums: withChunkCodec(methods.columnSums, chunk),
  weightedMeans: withChunkCodec(methods.weightedMeans, chunk),
};
