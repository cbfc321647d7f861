import { createHash } from "node:crypto";
import { status } from "@grpc/grpc-js";
import type {
  DropRequest,
  GetRequest,
  GetResponse,
  HasRequest,
  KeepRequest,
  KeepResponse,
  PutRequest,
  PutResponse,
  ReduceRequest,
  StoreServiceDefinition,
} from "../gen/rpcpool/pool/v1/store.js";
import { ServerError } from "../rpc/server-error.js";
import { isHandle } from "../rpc/value-missing.js";
import { repeatedField } from "../wire/repeated-field.js";
import { clientStream, type HandlerDeps, serverStream, unary } from "./handlers.js";
import type { ServiceHandlers } from "./hosted-service.js";
import { invokeForReply } from "./local-call.js";
import type { MethodRegistry } from "./method-registry.js";
import { maxOwnerChars, type ValueStore } from "./value-store.js";

export interface StoreDeps extends HandlerDeps {
  store: ValueStore;
  registry: MethodRegistry;
}

/** Chunks of a Get: well within any message cap, and large enough that framing costs nothing. */
const getChunkBytes = 1 << 20;

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

function checkHandle(handle: string): void {
  if (!isHandle(handle)) {
    throw new ServerError(
      status.INVALID_ARGUMENT,
      `"${handle.slice(0, 80)}" is not a handle (the lowercase hex SHA-256 of a value)`,
    );
  }
}

function checkOwner(owner: string): void {
  if (owner === "") throw new ServerError(status.INVALID_ARGUMENT, "a value needs an owner (the pool's id)");
  // Owners are held as long as their values: an id of megabytes would be a store of its own.
  if (owner.length > maxOwnerChars) {
    throw new ServerError(
      status.INVALID_ARGUMENT,
      `an owner id is at most ${maxOwnerChars} characters (a pool's is a UUID); this one has ${owner.length}`,
    );
  }
}

/** The next message of a Put, or DEADLINE_EXCEEDED when none comes for `ms` (the client stalled). */
async function within<T>(
  next: Promise<IteratorResult<T>>,
  ms: number,
  signal: AbortSignal,
  store: ValueStore,
): Promise<IteratorResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      next,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          store.counters.putsRefused++;
          reject(
            new ServerError(
              status.DEADLINE_EXCEEDED,
              `the Put sent nothing for ${ms} ms (--store-put-stall-ms): its bytes are freed`,
            ),
          );
        }, ms);
        // A cancelled call may never end its request stream: stop waiting for it.
        onAbort = () => reject(new ServerError(status.CANCELLED, "the Put was cancelled"));
        if (signal.aborted) onAbort();
        else signal.addEventListener("abort", onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener("abort", onAbort);
  }
}

/** rpcpool.pool.v1.StoreService on one server: its value store, and results kept or reduced there. */
export function storeService(deps: StoreDeps): ServiceHandlers<typeof StoreServiceDefinition> {
  const { store, registry } = deps;

  /** Stores a result computed here under its own hash, for `owner`. */
  const keep = (bytes: Buffer, owner: string): KeepResponse => {
    const handle = sha256(bytes);
    store.put(handle, bytes, owner, { kept: true });
    return { handle, size: bytes.byteLength };
  };

  return {
    put: clientStream(deps, async (requests: AsyncIterable<PutRequest>, context): Promise<PutResponse> => {
      const iterator = requests[Symbol.asyncIterator]();
      // A Put that stops sending holds its bytes and a call: it is refused after --store-put-stall-ms.
      const next = () => within(iterator.next(), store.putStallMs, context.signal, store);
      const head = await next();
      const header = head.done ? undefined : head.value.header;
      if (!header) throw new ServerError(status.INVALID_ARGUMENT, "the first message of a Put is its header");
      checkHandle(header.handle);
      checkOwner(header.owner);
      store.counters.puts++;
      store.checkFits(header.size);
      // A value the store holds already is not needed again: the rest of the stream is read and dropped.
      const held = store.adopt(header.handle, header.owner);
      const chunks: Buffer[] = [];
      let received = 0;
      // The bytes count against the store as they arrive, not once the value is whole: Puts that
      // never finish cannot hold more than the store's bound between them.
      const reservation = store.reserve();
      try {
        for (let message = await next(); !message.done; message = await next()) {
          const chunk = message.value.chunk;
          if (chunk === undefined)
            throw new ServerError(status.INVALID_ARGUMENT, "only the first message is a header");
          received += chunk.byteLength;
          if (received > header.size) {
            throw new ServerError(
              status.INVALID_ARGUMENT,
              `more than the ${header.size} bytes the header announced`,
            );
          }
          if (!held) {
            reservation.grow(chunk.byteLength);
            chunks.push(chunk);
          }
        }
        store.counters.putBytes += received;
        if (held) {
          store.counters.putDuplicates++;
          return { handle: header.handle, size: header.size, stored: false };
        }
        const bytes = Buffer.concat(chunks, received);
        chunks.length = 0;
        if (received !== header.size) {
          throw new ServerError(
            status.INVALID_ARGUMENT,
            `${received} bytes received, the header announced ${header.size}`,
          );
        }
        if (sha256(bytes) !== header.handle) {
          throw new ServerError(
            status.INVALID_ARGUMENT,
            `the bytes received do not hash to ${header.handle}`,
          );
        }
        const stored = store.put(header.handle, bytes, header.owner, { reservation });
        if (!stored) store.counters.putDuplicates++;
        return { handle: header.handle, size: bytes.byteLength, stored };
      } finally {
        reservation.release();
      }
    }),

    get: serverStream(deps, async function* (request: GetRequest): AsyncGenerator<GetResponse> {
      checkHandle(request.handle);
      const bytes = store.get(request.handle);
      yield { size: bytes.byteLength, chunk: bytes.subarray(0, getChunkBytes) };
      for (let at = getChunkBytes; at < bytes.byteLength; at += getChunkBytes) {
        yield { size: 0, chunk: bytes.subarray(at, at + getChunkBytes) };
      }
    }),

    has: unary(deps, async (request: HasRequest) => ({
      handles: request.handles.filter((handle) => store.has(handle)),
    })),

    drop: unary(deps, async (request: DropRequest) => {
      checkOwner(request.owner);
      return { dropped: store.drop(request.owner, request.handles) };
    }),

    keep: unary(deps, async (request: KeepRequest, context) => {
      checkOwner(request.owner);
      if (!registry.unary(request.method) && !registry.clientStream(request.method)) {
        throw new ServerError(
          status.UNIMPLEMENTED,
          `no unary or client-stream method ${request.method} on this server`,
        );
      }
      const bytes = await invokeForReply(registry, request.method, request.requests, context);
      return keep(bytes, request.owner);
    }),

    reduce: unary(deps, async (request: ReduceRequest, context) => {
      checkOwner(request.owner);
      if (!registry.unary(request.method))
        throw new ServerError(status.UNIMPLEMENTED, `no unary method ${request.method} on this server`);
      if (request.handles.length === 0) throw new ServerError(status.INVALID_ARGUMENT, "nothing to reduce");
      for (const handle of request.handles) checkHandle(handle);
      const values = request.handles.map((handle) => store.get(handle));
      const bytes = await invokeForReply(registry, request.method, [repeatedField(values)], context);
      return keep(bytes, request.owner);
    }),

    stats: unary(deps, async () => ({
      values: store.size,
      bytes: store.bytes,
      capacityBytes: store.capacityBytes,
      idleMs: store.idleMs,
      ...store.counters,
      valueBytes: store.valueBytes,
      transitBytes: store.transitBytes,
      keptBytes: store.keptBytes,
      keptReserveBytes: store.keptReserveBytes,
      putStallMs: store.putStallMs,
    })),
  };
}
