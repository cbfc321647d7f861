import { createHash } from "node:crypto";
import type { MessageCodec } from "../rpc/method-spec.js";

/**
 * A value in the servers' stores, by its name there: the lowercase hex SHA-256 of its bytes
 * (docs/collectives.md). Requests carry `handle.id` instead of the value; a task whose input is a
 * handle runs where the value is. `decode` turns the bytes back into the value (`pool.gather`).
 */
export class ValueHandle<T = Buffer> {
  constructor(
    readonly id: string,
    /** The value's size in bytes. */
    readonly size: number,
    readonly decode: (bytes: Buffer) => T,
  ) {}

  toString(): string {
    return this.id;
  }

  toJSON(): string {
    return this.id;
  }
}

export const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export const identity = (bytes: Buffer): Buffer => bytes;

export function handleOf(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A value's bytes and how to read them back: raw bytes as they are, a message through its codec. */
export function encodeValue<T>(
  value: T,
  codec?: MessageCodec<T>,
): { bytes: Buffer; decode: (b: Buffer) => T } {
  if (codec) return { bytes: asBuffer(codec.encode(value).finish()), decode: (b) => codec.decode(b) };
  if (value instanceof Uint8Array) return { bytes: asBuffer(value), decode: identity as (b: Buffer) => T };
  throw new TypeError("a value to store is bytes (a Uint8Array), or a message with its codec");
}
