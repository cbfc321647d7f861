import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ordinary } from "../../exact/double-arbitraries.js";
import { MeansRequest } from "../../gen/rpcpool/compute/v1/compute.js";
import { meansFromBytes } from "./means-from-bytes.js";
import { meansOfLists, RefusedInput } from "./small-computations.js";

const doubleLE = (x: number) => {
  const bytes = Buffer.alloc(8);
  bytes.writeDoubleLE(x);
  return bytes;
};
/** A NumberList with its values one by one (wire type 1), as a proto2-style encoder may send them. */
const unpackedList = (values: number[]) => {
  const body = Buffer.concat(values.map((x) => Buffer.concat([Buffer.from([0x09]), doubleLE(x)])));
  return Buffer.concat([Buffer.from([0x0a, body.byteLength]), body]);
};

describe("meansFromBytes", () => {
  it("gives the means the decoded request gives, bit for bit", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(ordinary, { minLength: 1, maxLength: 8 }), { maxLength: 20 }),
        (lists) => {
          const bytes = MeansRequest.encode({ lists: lists.map((values) => ({ values })) }).finish();
          expect(meansFromBytes(bytes)).toEqual(meansOfLists(lists));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("reads values sent one by one, and skips fields it does not know", () => {
    const unknown = Buffer.from([0x10, 0x05, 0x1a, 0x02, 0x61, 0x62]); // field 2 varint, field 3 bytes
    const bytes = Buffer.concat([unpackedList([1, 2, 4]), unknown, unpackedList([0.1, 0.2, 0.3])]);
    expect(meansFromBytes(bytes)).toEqual([7 / 3, 0.2]);
  });

  it("refuses an empty list, a value that is not finite, and bytes cut short, as the decoded path does", () => {
    const empty = MeansRequest.encode({ lists: [{ values: [1] }, { values: [] }] }).finish();
    expect(() => meansFromBytes(empty)).toThrow("list 2 is empty: it has no mean");
    const nan = MeansRequest.encode({ lists: [{ values: [1, Number.NaN] }] }).finish();
    expect(() => meansFromBytes(nan)).toThrow("list 1, item 2 is NaN, not a finite number");
    const cut = MeansRequest.encode({ lists: [{ values: [1, 2] }] })
      .finish()
      .subarray(0, 10);
    expect(() => meansFromBytes(cut)).toThrow(RefusedInput);
  });
});
