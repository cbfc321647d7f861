import { describe, expect, it } from "vitest";
import { repeatedField, varint } from "./repeated-field.js";

describe("repeatedField", () => {
  it("writes each value as field 1, length-delimited, in order", () => {
    const a = Buffer.from([1, 2, 3]);
    const b = Buffer.alloc(200, 7);
    const bytes = repeatedField([a, b]);
    expect([...bytes.subarray(0, 5)]).toEqual([0x0a, 3, 1, 2, 3]);
    expect([...bytes.subarray(5, 8)]).toEqual([0x0a, 0xc8, 0x01]);
    expect(bytes.subarray(8)).toEqual(b);
    expect([...repeatedField([a], 2).subarray(0, 1)]).toEqual([0x12]);
    expect(repeatedField([]).byteLength).toBe(0);
  });

  it("writes varints as protobuf does", () => {
    expect([...varint(0)]).toEqual([0]);
    expect([...varint(300)]).toEqual([0xac, 0x02]);
    expect([...varint(2 ** 40)]).toEqual([0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
    expect(() => varint(-1)).toThrow(RangeError);
  });
});
