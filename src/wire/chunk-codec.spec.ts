import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeChunk, encodeChunk, withChunkCodec } from "./chunk-codec.js";

/** A length-delimited field as any protobuf encoder writes it: tag varint, length varint, bytes. */
function field(number: number, bytes: Uint8Array): Buffer {
  const varint = (value: number) => {
    const out: number[] = [];
    while (value >= 0x80) {
      out.push((value & 0x7f) | 0x80);
      value = Math.floor(value / 128);
    }
    out.push(value);
    return out;
  };
  return Buffer.concat([Buffer.from([...varint((number << 3) | 2), ...varint(bytes.byteLength)]), bytes]);
}

describe("the chunk codec", () => {
  it("writes a bytes field as protobuf does, and reads it back as a view", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 20_000 }),
        fc.constantFrom(1, 2, 15, 16, 2047, 2048, 100_000),
        (bytes, number) => {
          const encoded = encodeChunk(bytes, number);
          expect(encoded.equals(field(number, bytes))).toBe(true);
          const decoded = decodeChunk(encoded, number)!;
          expect(decoded.equals(bytes)).toBe(true);
          expect(decoded.buffer).toBe(encoded.buffer);
        },
      ),
      { numRuns: 100 },
    );
    for (const length of [0, 127, 128, 16_383, 16_384, 2_097_152]) {
      expect(decodeChunk(field(2, new Uint8Array(length)), 2)!.byteLength).toBe(length);
    }
  });

  it("reads nothing but a message of exactly that one field", () => {
    const one = field(2, Buffer.from("1;2\n"));
    expect(decodeChunk(one, 3)).toBeUndefined();
    expect(decodeChunk(Buffer.concat([one, one]), 2)).toBeUndefined();
    expect(decodeChunk(one.subarray(0, one.length - 1), 2)).toBeUndefined();
    expect(decodeChunk(Buffer.concat([field(1, Buffer.from("x")), one]), 2)).toBeUndefined();
    expect(decodeChunk(Buffer.alloc(0), 2)).toBeUndefined();
  });

  it("swaps a method's request codec only for messages that carry the chunk alone", () => {
    const slow = {
      path: "/t.T/Up",
      requestSerialize: (value: unknown) => Buffer.from(JSON.stringify(value)),
      requestDeserialize: (bytes: Buffer) => JSON.parse(bytes.toString()),
    };
    const fast = withChunkCodec(slow, { name: "chunk", number: 2 });
    expect(fast.path).toBe("/t.T/Up");
    const bytes = Buffer.from("abc");
    expect(fast.requestSerialize({ chunk: bytes, options: undefined }).equals(field(2, bytes))).toBe(true);
    expect(fast.requestDeserialize(field(2, bytes))).toEqual({ chunk: bytes });
    const other = { chunk: bytes, name: "a" };
    expect(fast.requestSerialize(other).equals(slow.requestSerialize(other))).toBe(true);
    expect(fast.requestSerialize({ name: "a" }).toString()).toBe('{"name":"a"}');
    expect(fast.requestDeserialize(Buffer.from('{"n":1}'))).toEqual({ n: 1 });
  });
});
