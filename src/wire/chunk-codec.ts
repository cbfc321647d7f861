/**
 * A one-copy codec for the messages that carry bulk bytes in one field, e.g. a table's chunks
 * (`bytes chunk = 2` inside a oneof). On the wire they stay the proto's own: the field's tag, a
 * varint length, the bytes. The codec ts-proto generates copies every chunk three times on the way
 * out (writer, finish, Buffer.from) and once on the way in; this one copies once out and not at all
 * in (the chunk arrives as a view of the received message). Any other message goes through the
 * method's own codec, so the fast path is an optimisation, never a change of format.
 */

/** A bytes field of a message: its name in the generated TypeScript and its number in the proto. */
export interface ChunkField {
  name: string;
  number: number;
}

/** The parts of a method definition (grpc-js's, or rpcpool's MethodSpec) that encode requests. */
export interface RequestCodec {
  // biome-ignore lint/suspicious/noExplicitAny: serializers are contravariant in the message type
  requestSerialize: (value: any) => Buffer;
  // biome-ignore lint/suspicious/noExplicitAny: any message type
  requestDeserialize: (bytes: Buffer) => any;
  // biome-ignore lint/suspicious/noExplicitAny: serializers are contravariant in the message type
  requestSerializeParts?: (value: any) => Buffer[];
}

function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    length++;
  }
  return length;
}

/** The head of a message holding only a `length`-byte chunk in field `fieldNumber`: tag and length. */
export function chunkHead(length: number, fieldNumber: number): Buffer {
  const out = Buffer.allocUnsafe(varintLength(fieldNumber << 3) + varintLength(length));
  let at = 0;
  // Tag (field number, wire type 2: length-delimited), then the length, both as varints.
  for (let value of [(fieldNumber << 3) | 2, length]) {
    while (value >= 0x80) {
      out[at++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    out[at++] = value;
  }
  return out;
}

/** A message that holds only `chunk` in field `fieldNumber`, encoded with one copy. */
export function encodeChunk(chunk: Uint8Array, fieldNumber: number): Buffer {
  const head = chunkHead(chunk.byteLength, fieldNumber);
  const out = Buffer.allocUnsafe(head.byteLength + chunk.byteLength);
  out.set(head, 0);
  out.set(chunk, head.byteLength);
  return out;
}

/**
 * The bytes of a message that holds exactly one field, length-delimited field `fieldNumber`, as a
 * view (no copy); undefined for any other message.
 */
export function decodeChunk(bytes: Buffer, fieldNumber: number): Buffer | undefined {
  let at = 0;
  const readVarint = (): number | undefined => {
    let value = 0;
    let scale = 1;
    for (let n = 0; at < bytes.byteLength && n < 5; n++) {
      const byte = bytes[at++]!;
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if (byte < 0x80) return value;
    }
    return undefined;
  };
  if (readVarint() !== ((fieldNumber << 3) | 2)) return undefined;
  const length = readVarint();
  return length !== undefined && at + length === bytes.byteLength ? bytes.subarray(at) : undefined;
}

/** True when `message` sets `name` to bytes and no other field. */
function onlyChunk(message: Record<string, unknown>, name: string): boolean {
  if (!(message[name] instanceof Uint8Array)) return false;
  for (const key in message) if (key !== name && message[key] !== undefined) return false;
  return true;
}

/**
 * The method with the one-copy codec for requests that carry only `field`: the same bytes on the
 * wire, fewer copies. Everything else about the method (path, responses, options) is kept.
 */
export function withChunkCodec<M extends RequestCodec>(method: M, field: ChunkField): M {
  return {
    ...method,
    requestSerialize: (value: Record<string, unknown>) =>
      onlyChunk(value, field.name)
        ? encodeChunk(value[field.name] as Uint8Array, field.number)
        : method.requestSerialize(value),
    // For a transport that writes parts one after the other: the head, then the chunk as it is.
    requestSerializeParts: (value: Record<string, unknown>) => {
      if (!onlyChunk(value, field.name)) return [method.requestSerialize(value)];
      const chunk = value[field.name] as Uint8Array;
      const bytes =
        chunk instanceof Buffer ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      return [chunkHead(chunk.byteLength, field.number), bytes];
    },
    requestDeserialize: (bytes: Buffer) => {
      const chunk = decodeChunk(bytes, field.number);
      return chunk ? { [field.name]: chunk } : method.requestDeserialize(bytes);
    },
  };
}
