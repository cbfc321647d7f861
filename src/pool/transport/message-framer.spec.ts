import { describe, expect, it } from "vitest";
import { MessageFramer } from "./message-framer.js";

const framed = (body: Buffer) => {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
};

/** Pushes `bytes` in chunks of `size`, as an HTTP/2 stream gives them; returns the messages. */
function feed(framer: MessageFramer, bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    out.push(...framer.push(bytes.subarray(at, at + size)).map((frame) => frame.bytes));
  }
  return out;
}

describe("MessageFramer", () => {
  it("copies each byte of a message that spans chunks once: linear, not quadratic", () => {
    for (const mib of [8, 32]) {
      const framer = new MessageFramer(64 << 20);
      const body = Buffer.alloc(mib << 20, 3);
      const [message, ...rest] = feed(framer, framed(body), 16 << 10);
      expect(rest).toEqual([]);
      expect(message!.equals(body)).toBe(true);
      // Joining on every chunk copied 8 MiB ~256 times over; once is the size itself.
      expect(framer.copiedBytes).toBe(body.length);
    }
  });

  it("cuts messages split anywhere, the 5-byte prefix too, and several in one chunk", () => {
    const bodies = ["", "a", "hello", "x".repeat(1000)].map((s) => Buffer.from(s));
    const all = Buffer.concat(bodies.map(framed));
    for (const size of [1, 2, 3, 5, 7, 64, all.length]) {
      const framer = new MessageFramer(1 << 20);
      expect(feed(framer, all, size).map(String)).toEqual(bodies.map(String));
      expect(framer.idle).toBe(true);
    }
  });

  it("tells a compressed message by its flag, and refuses one over the limit", () => {
    const compressed = framed(Buffer.from("z"));
    compressed[0] = 1;
    expect(new MessageFramer(10).push(compressed)).toEqual([{ bytes: Buffer.from("z"), compressed: true }]);
    expect(() => new MessageFramer(10).push(framed(Buffer.alloc(11)))).toThrow(/exceeds the limit of 10/);
  });
});
