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
