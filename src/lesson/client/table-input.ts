import { createReadStream } from "node:fs";
import { ClientError } from "../../rpc/client-error.js";
import { Status as status } from "../../rpc/grpc-status.js";

/** How a table is read; strings as the user typed them ("tab" and "\t" both mean a tab). */
export interface TableReadOptions {
  delimiter?: string;
  decimal?: string;
  header?: boolean;
}

/** Chunk size of uploads: large enough to amortise per-message cost, small enough to stream. */
export const uploadChunkBytes = 256 << 10;

/**
 * The bytes of a file as an async iterable read with backpressure: the next chunk is read only
 * when the previous one has been written to the call. A file that cannot be read is a ClientError
 * (NOT_FOUND, PERMISSION_DENIED), which no other server could cure.
 */
export async function* fileChunks(path: string, start = 0, end?: number): AsyncGenerator<Buffer> {
  const stream = createReadStream(path, {
    highWaterMark: uploadChunkBytes,
    start,
    end: end === undefined ? undefined : end - 1,
  });
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (error) {
    throw readError(path, error);
  } finally {
    stream.destroy();
  }
}

function readError(path: string, error: unknown): ClientError {
  const code = (error as NodeJS.ErrnoException).code;
  const grpcCode =
    code === "ENOENT"
      ? status.NOT_FOUND
      : code === "EACCES" || code === "EPERM"
        ? status.PERMISSION_DENIED
        : status.FAILED_PRECONDITION;
  const reason =
    code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : (error as Error).message;
  return new ClientError(grpcCode, `cannot read ${path}: ${reason}`);
}

/** A delimiter as the server expects it: one character; "tab" is spelled out for shells. */
export function delimiterCharacter(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value.toLowerCase() === "tab" || value === "\\t" ? "\t" : value;
}
