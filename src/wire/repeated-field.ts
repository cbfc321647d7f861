/**
 * The bytes of a message `{ repeated V parts = 1; }` built from the serialized Vs themselves: a
 * repeated message field is each element as a length-delimited field (tag, length, bytes), one
 * after the other. So a reduce request is made from stored values without decoding them, by the
 * client or by a server that does not know their type (docs/collectives.md).
 */
export function repeatedField(values: readonly Uint8Array[], field = 1): Buffer {
  const tag = varint((field << 3) | 2);
  const parts: Uint8Array[] = [];
  for (const value of values) parts.push(tag, varint(value.byteLength), value);
  return Buffer.concat(parts);
}

/** A non-negative integer as a protobuf varint. */
export function varint(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a varint: ${n}`);
  const bytes: number[] = [];
  let rest = n;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/**
 * A packed `repeated double` field: its tag, its length and the values as little-endian doubles,
 * written in one buffer. A generated encoder writes each double as a chunk of its own (an
 * allocation a value: millions of them for a large reply); nothing when there are no values.
 */
export function packedDoubles(field: number, values: ArrayLike<number>): Buffer {
  if (values.length === 0) return Buffer.alloc(0);
  const head = Buffer.concat([varint((field << 3) | 2), varint(8 * values.length)]);
  const bytes = Buffer.allocUnsafe(head.byteLength + 8 * values.length);
  head.copy(bytes);
  for (let i = 0; i < values.length; i++) bytes.writeDoubleLE(values[i]!, head.byteLength + 8 * i);
  return bytes;
}

/** A length-delimited field (a message or bytes) of `field` holding `value`. */
export function lengthDelimited(field: number, value: Uint8Array): Buffer {
  return Buffer.concat([varint((field << 3) | 2), varint(value.byteLength), value]);
}
