import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ColumnSumsRequest, WeightedMeansRequest } from "../gen/rpcpool/compute/v1/compute.js";
import { TableOptions } from "../gen/rpcpool/compute/v1/table.js";
import { computeServiceDefinition, decodeChunk, encodeChunk } from "./table-stream-codec.js";

const generated = (message: ColumnSumsRequest) => Buffer.from(ColumnSumsRequest.encode(message).finish());

describe("the table stream codec", () => {
  it("writes exactly the bytes of the generated codec, and reads them back as a view", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 70_000 }), (bytes) => {
        const message = { chunk: Buffer.from(bytes) };
        const encoded = encodeChunk(message)!;
        expect(encoded.equals(generated(message))).toBe(true);
        const decoded = decodeChunk(encoded)!;
        expect(decoded.equals(Buffer.from(bytes))).toBe(true);
        expect(ColumnSumsRequest.decode(encoded).chunk!.equals(decoded)).toBe(true);
      }),
      { numRuns: 60 },
    );
    // Lengths around the varint's byte boundaries.
    for (const length of [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152]) {
      const message = { chunk: Buffer.alloc(length, 7) };
      expect(encodeChunk(message)!.equals(generated(message))).toBe(true);
      expect(decodeChunk(generated(message))!.byteLength).toBe(length);
    }
  });

  it("leaves every other message to the generated codec", () => {
    const options = { options: TableOptions.fromPartial({ fileName: "a.csv", delimiter: ";" }) };
    expect(encodeChunk(options)).toBeUndefined();
    expect(decodeChunk(generated(options))).toBeUndefined();
    const definition = computeServiceDefinition.weightedMeans;
    const withOptions = WeightedMeansRequest.fromPartial({ options: { weights: [1, 2], table: {} } });
    expect(WeightedMeansRequest.decode(definition.requestSerialize(withOptions))).toEqual(withOptions);
    expect(definition.requestDeserialize(definition.requestSerialize(withOptions))).toEqual(withOptions);
    // A chunk followed by another field, or a truncated one, is not the fast shape.
    const chunk = generated({ chunk: Buffer.from("1;2\n") });
    expect(decodeChunk(Buffer.concat([chunk, chunk]))).toBeUndefined();
    expect(decodeChunk(chunk.subarray(0, chunk.length - 1))).toBeUndefined();
    expect(computeServiceDefinition.columnSums.requestDeserialize(Buffer.concat([chunk, chunk]))).toEqual(
      ColumnSumsRequest.decode(Buffer.concat([chunk, chunk])),
    );
  });
});
