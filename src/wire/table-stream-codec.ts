import { makeGenericClientConstructor } from "@grpc/grpc-js";
import {
  type ColumnSumsRequest,
  type ComputeServiceClient,
  ComputeServiceService,
  type WeightedMeansRequest,
} from "../gen/rpcpool/compute/v1/compute.js";

/**
 * A faster codec for the messages that carry a table's bytes, the only large ones. On the wire
 * they are the proto's own: field 2 (`chunk`, length-delimited), tag byte 0x12, a varint length,
 * the bytes. The generated codec copies every chunk three times on the way out (writer, finish,
 * Buffer.from) and once on the way in; this one copies once out and not at all in. Any other
 * message (the options, or bytes of another shape) goes through the generated codec.
 */
const CHUNK_TAG = (2 << 3) | 2;

type TableRequest = { chunk?: Buffer | undefined };

function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    length++;
  }
  return length;
}

/** `encode` for a message that is nothing but a chunk, or undefined for any other message. */
export function encodeChunk(message: TableRequest & { options?: unknown }): Buffer | undefined {
  const chunk = message.chunk;
  if (chunk === undefined || message.options !== undefined) return undefined;
  const head = 1 + varintLength(chunk.byteLength);
  const out = Buffer.allocUnsafe(head + chunk.byteLength);
  out[0] = CHUNK_TAG;
  let at = 1;
  for (let value = chunk.byteLength; ; ) {
    if (value < 0x80) {
      out[at++] = value;
      break;
    }
    out[at++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  out.set(chunk, head);
  return out;
}

/** The chunk of a message that holds exactly one chunk field, as a view (no copy); else undefined. */
export function decodeChunk(bytes: Buffer): Buffer | undefined {
  if (bytes.byteLength < 2 || bytes[0] !== CHUNK_TAG) return undefined;
  let length = 0;
  let scale = 1;
  let at = 1;
  for (; at < bytes.byteLength && at <= 5; at++) {
    const byte = bytes[at]!;
    length += (byte & 0x7f) * scale;
    scale *= 128;
    if (byte < 0x80) {
      at++;
      return at + length === bytes.byteLength ? bytes.subarray(at) : undefined;
    }
  }
  return undefined;
}

function fast<
  M extends TableRequest,
  D extends { requestSerialize: (value: M) => Buffer; requestDeserialize: (value: Buffer) => M },
>(method: D): D {
  return {
    ...method,
    requestSerialize: (value: M) => encodeChunk(value) ?? method.requestSerialize(value),
    requestDeserialize: (bytes: Buffer) => {
      const chunk = decodeChunk(bytes);
      return chunk ? ({ chunk } as M) : method.requestDeserialize(bytes);
    },
  };
}

/** ComputeService with the fast codec for table streams: the same wire format, fewer copies. */
export const computeServiceDefinition: typeof ComputeServiceService = {
  ...ComputeServiceService,
  columnSums: fast<ColumnSumsRequest, typeof ComputeServiceService.columnSums>(
    ComputeServiceService.columnSums,
  ),
  weightedMeans: fast<WeightedMeansRequest, typeof ComputeServiceService.weightedMeans>(
    ComputeServiceService.weightedMeans,
  ),
};

/** The generated client class over the fast definition. */
export const FastComputeServiceClient = makeGenericClientConstructor(
  computeServiceDefinition,
  "rpcpool.compute.v1.ComputeService",
) as unknown as typeof ComputeServiceClient;
