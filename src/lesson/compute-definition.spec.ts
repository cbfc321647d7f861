import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ColumnSumsRequest, WeightedMeansRequest } from "../gen/rpcpool/compute/v1/compute.js";
import { TableOptions } from "../gen/rpcpool/compute/v1/table.js";
import { computeServiceDefinition } from "./compute-definition.js";

const generated = (message: ColumnSumsRequest) => Buffer.from(ColumnSumsRequest.encode(message).finish());
const { columnSums, weightedMeans } = computeServiceDefinition;

describe("the lesson's fast ComputeService definition", () => {
  it("writes exactly the bytes of the generated codec for a chunk, and reads them back as a view", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 70_000 }), (bytes) => {
        const message = { chunk: Buffer.from(bytes) };
        const encoded = columnSums.requestSerialize(message);
        expect(encoded.equals(generated(message))).toBe(true);
        const decoded = columnSums.requestDeserialize(encoded).chunk as Buffer;
        expect(decoded.equals(Buffer.from(bytes))).toBe(true);
        // A view of the message received, not a copy.
        expect(decoded.buffer).toBe(encoded.buffer);
      }),
      { numRuns: 60 },
    );
    // Lengths around the varint's byte boundaries.
    for (const length of [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152]) {
      const message = { chunk: Buffer.alloc(length, 7) };
      expect(weightedMeans.requestSerialize(message).equals(generated(message))).toBe(true);
      expect(weightedMeans.requestDeserialize(generated(message)).chunk!.byteLength).toBe(length);
    }
  });

  it("leaves every other message to the generated codec", () => {
    const options = ColumnSumsRequest.fromPartial({
      options: TableOptions.fromPartial({ fileName: "a.csv" }),
    });
    expect(columnSums.requestSerialize(options).equals(generated(options))).toBe(true);
    expect(columnSums.requestDeserialize(generated(options))).toEqual(options);
    const withOptions = WeightedMeansRequest.fromPartial({ options: { weights: [1, 2], table: {} } });
    expect(WeightedMeansRequest.decode(weightedMeans.requestSerialize(withOptions))).toEqual(withOptions);
    expect(weightedMeans.requestDeserialize(weightedMeans.requestSerialize(withOptions))).toEqual(
      withOptions,
    );
    // Two chunks in one message are not the fast shape: the generated codec reads them (the last wins).
    const chunk = generated({ chunk: Buffer.from("1;2\n") });
    expect(columnSums.requestDeserialize(Buffer.concat([chunk, chunk]))).toEqual(
      ColumnSumsRequest.decode(Buffer.concat([chunk, chunk])),
    );
  });

  it("keeps the proto's idempotency and paths", () => {
    expect(columnSums.path).toBe("/rpcpool.compute.v1.ComputeService/ColumnSums");
    expect(columnSums.idempotency).toBe("IDEMPOTENT");
    expect(computeServiceDefinition.means.requestStream).toBe(false);
  });
});
