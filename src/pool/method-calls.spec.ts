import { describe, expect, it } from "vitest";
import { BatchServiceDefinition, InvokeRequest } from "../gen/rpcpool/pool/v1/batch.js";
import { methodsOf, requestEncoderOf } from "../rpc/method-spec.js";
import { writeBatch } from "./method-calls.js";

// A coalesced batch writes its items straight into its own message: the bytes must be those of an
// InvokeRequest whose items were encoded alone (what the server decodes).
describe("writeBatch", () => {
  const spec = methodsOf(BatchServiceDefinition).invoke!;
  const encode = requestEncoderOf(spec)!;

  it("writes the same bytes as encoding each item alone, whatever the items' sizes", () => {
    // Empty, small, past one byte of length (a wider prefix) and past two.
    const items: InvokeRequest[] = [
      { method: "", requests: [] },
      { method: "/a.B/C", requests: [Buffer.from([1, 2, 3])] },
      { method: "x".repeat(200), requests: [Buffer.alloc(300, 7), Buffer.alloc(0)] },
      { method: "y", requests: [Buffer.alloc(20_000, 9)] },
    ];
    const written = writeBatch({ method: "/p.S/M", requests: items, encode: encode as never });
    const alone = InvokeRequest.encode({
      method: "/p.S/M",
      requests: items.map((item) => spec.requestSerialize(item)),
    }).finish();
    expect(Buffer.compare(written, Buffer.from(alone))).toBe(0);
    expect(InvokeRequest.decode(written).requests.map((bytes) => InvokeRequest.decode(bytes))).toEqual(items);
  });

  it("is not offered for a spec whose serializer was swapped", () => {
    expect(
      requestEncoderOf({ ...spec, requestSerialize: (value: InvokeRequest) => spec.requestSerialize(value) }),
    ).toBeUndefined();
  });
});
