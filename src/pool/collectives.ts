import { randomUUID } from "node:crypto";
import { type StatsResponse, StoreServiceDefinition } from "../gen/rpcpool/pool/v1/store.js";
import { ClientError } from "../rpc/client-error.js";
import { Status as status } from "../rpc/grpc-status.js";
import { type MessageCodec, type MethodSpec, methodsOf } from "../rpc/method-spec.js";
import { missingHandleOf } from "../rpc/value-missing.js";
import { repeatedField } from "../wire/repeated-field.js";
import type { RunOptions, TaskFn } from "./outcome.js";
import type { PoolServer, ServerConnection } from "./server-connection.js";
import { encodeValue, handleOf, ValueHandle } from "./value-handle.js";

const store = methodsOf(StoreServiceDefinition);

/** Values travel in chunks of 1 MiB: within any message cap, and without copying the value. */
const chunkBytes = 1 << 20;

/** What the pool knows of one value: its bytes (the client's copy), and which servers hold it. */
interface Entry {
  bytes?: Buffer;
  size: number;
  decode: (bytes: Buffer) => unknown;
  holders: Set<string>;
  /** Where a scattered or kept value lives: its tasks run there (data locality). */
  home?: string;
  /** On every server: no home. */
  broadcast: boolean;
}

/** What the collectives need of their pool: its servers, and runs with failover. */
export interface CollectivesHost {
  readonly servers: readonly PoolServer[];
  map<I, R>(inputs: I[], fn: TaskFn<I, R>, options?: RunOptions): Promise<R[]>;
}

/** A reduce operation: a unary method whose request is `{ repeated V parts = 1; }` and whose response is a V. */
// biome-ignore lint/suspicious/noExplicitAny: the request is built from the values' bytes, never typed here
export type ReduceOp<V> = MethodSpec<any, V>;

export interface StoreCallOptions {
  signal?: AbortSignal;
  /** Milliseconds a fetch of one value (StoreService/Get) may take; default 60 s and 1 s per MiB. */
  timeoutMs?: number;
}

/** What a pool accepts from a store: the most bytes a Get may announce (default 1 GiB). */
export interface CollectivesOptions {
  maxValueBytes?: number;
}

export const defaultMaxValueBytes = 1 << 30;

/** A Get's deadline: a minute, and a second per MiB (a slow link moves more than 1 MiB/s). */
const getTimeoutMs = (size: number) => 60_000 + Math.ceil(size / (1 << 20)) * 1_000;

/** One Put of a value to a server, shared by the callers that want it there at once. */
interface SharedPut {
  promise: Promise<void>;
  /** Its own signal: aborted only when every caller waiting for it has gone. */
  controller: AbortController;
  waiters: number;
}

/** How many times a fetch asks a server that is UNAVAILABLE (100 ms, then 200 ms apart). */
const fetchRounds = 3;

/** Waits `ms`, or until `signal` aborts (then CANCELLED). */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(ClientError.fromAbort(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(ClientError.fromAbort(signal!));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A server that answered it does not hold the value (or has no store): the next one may. */
function lacks(error: ClientError, id: string): boolean {
  return missingHandleOf(error) === id || error.code === status.UNIMPLEMENTED;
}

/** The refusal for a value no server holds and the pool has no copy of. */
function valueLost(id: string, why: string): ClientError {
  return new ClientError(status.FAILED_PRECONDITION, `value ${id} is lost: ${why}`, {
    errorDetails: { errorInfo: { reason: "VALUE_LOST", domain: "rpcpool", metadata: { handle: id } } },
  });
}

/** Bytes the pool sent to stores (Put calls and their value bytes): what broadcasting saves is counted here. */
export interface ValueTraffic {
  puts: number;
  bytes: number;
}

/**
 * MPI's collectives on a pool (docs/collectives.md): broadcast, scatter, gather and reduce over
 * the servers' value stores, results kept where they were computed, and the repair that puts a
 * value again on a server that lacks it (joined later, restarted, evicted) before a task retries.
 */
export class Collectives {
  /** The owner of this pool's values on every server. */
  readonly owner = randomUUID();
  readonly traffic: ValueTraffic = { puts: 0, bytes: 0 };
  readonly #entries = new Map<string, Entry>();
  /** Puts under way, by server and handle: the same value asked for twice at once travels once. */
  readonly #putting = new Map<string, SharedPut>();
  readonly maxValueBytes: number;

  constructor(
    readonly host: CollectivesHost,
    options: CollectivesOptions = {},
  ) {
    this.maxValueBytes = options.maxValueBytes ?? defaultMaxValueBytes;
  }

  get #servers(): readonly ServerConnection[] {
    return this.host.servers as readonly ServerConnection[];
  }

  /** Puts a value on every server once (MPI bcast); the same value again travels nowhere. */
  async broadcast<T>(
    value: T,
    codec?: MessageCodec<T>,
    options: StoreCallOptions = {},
  ): Promise<ValueHandle<T>> {
    const { bytes, decode } = encodeValue(value, codec);
    const handle = this.#register(bytes, decode as (b: Buffer) => unknown);
    const entry = this.#entries.get(handle.id)!;
    entry.broadcast = true;
    entry.bytes ??= bytes;
    const missing = this.#servers.filter((server) => !entry.holders.has(server.address));
    const puts = await Promise.allSettled(
      missing.map((server) => this.#put(server, handle.id, bytes, options)),
    );
    // A server that cannot take it now gets it on first use; none at all is an error.
    if (entry.holders.size === 0) {
      const failed = puts.find((p) => p.status === "rejected") as PromiseRejectedResult | undefined;
      if (failed) throw ClientError.from(failed.reason);
    }
    return handle as ValueHandle<T>;
  }

  /**
   * Spreads values over the servers (MPI scatter), round robin; each value's tasks run where it
   * is. The pool keeps its copy (to move a value whose server is lost) unless `copy: false`.
   */
  async scatter<T>(
    values: readonly T[],
    codec?: MessageCodec<T>,
    options: StoreCallOptions & { copy?: boolean } = {},
  ): Promise<ValueHandle<T>[]> {
    const servers = [...this.#servers];
    if (servers.length === 0) throw new ClientError(status.UNAVAILABLE, "no server to scatter to");
    const encoded = values.map((value) => encodeValue(value, codec));
    const handles = encoded.map(({ bytes, decode }) =>
      this.#register(bytes, decode as (b: Buffer) => unknown),
    );
    // Each server takes its share one value after the other; the servers in parallel.
    const shares = servers.map(() => [] as number[]);
    for (let i = 0; i < handles.length; i++) shares[i % servers.length]!.push(i);
    await Promise.all(
      shares.map(async (share, s) => {
        for (const i of share) {
          const { id } = handles[i]!;
          const entry = this.#entries.get(id)!;
          if (entry.home === undefined) {
            await this.#putSomewhere(servers, s, id, encoded[i]!.bytes, options);
          }
          if (options.copy !== false) entry.bytes ??= encoded[i]!.bytes;
        }
      }),
    );
    return handles as ValueHandle<T>[];
  }

  /** The values of the handles (MPI gather): the pool's copy, or fetched from a server holding each. */
  async gather<T>(handles: readonly ValueHandle<T>[], options: StoreCallOptions = {}): Promise<T[]> {
    return Promise.all(handles.map(async (handle) => handle.decode(await this.bytesOf(handle.id, options))));
  }

  /**
   * Combines values with `op` (MPI reduce): the values on each server are combined there, the
   * partial results on one server. `op` must be associative and commutative, as exact merges are.
   */
  async reduce<V>(
    handles: readonly ValueHandle<V>[],
    op: ReduceOp<V>,
    options: StoreCallOptions = {},
  ): Promise<V> {
    if (handles.length === 0) throw new ClientError(status.INVALID_ARGUMENT, "nothing to reduce");
    const groups = new Map<string, string[]>();
    const local: string[] = [];
    const live = new Set(this.#servers.map((s) => s.address));
    for (const { id } of handles) {
      const entry = this.#entries.get(id);
      const where = entry?.home ?? [...(entry?.holders ?? [])].find((a) => live.has(a));
      if (where && live.has(where)) groups.set(where, [...(groups.get(where) ?? []), id]);
      else local.push(id);
    }
    const partials = await Promise.all(
      [...groups].map(([address, ids]) => this.#reduceOn(address, ids, op, options)),
    );
    const parts = [...partials.flat(), ...(await Promise.all(local.map((id) => this.bytesOf(id, options))))];
    if (parts.length === 1) return op.responseDeserialize(parts[0]!);
    return this.combine(parts, op, options);
  }

  /** Combines serialized values with `op` on the least busy server (with failover): fetch and merge. */
  async combine<V>(parts: readonly Buffer[], op: ReduceOp<V>, options: StoreCallOptions = {}): Promise<V> {
    const request = repeatedField(parts);
    const raw: MethodSpec<Buffer, V> = {
      ...op,
      requestSerialize: (bytes) => bytes,
      requestSerializeParts: undefined,
    };
    const [value] = await this.host.map(
      [undefined],
      (_, server, signal) => server.unary(raw, request, { signal }),
      {
        signal: options.signal,
        retries: op.idempotency === "UNKNOWN" ? 0 : undefined,
      },
    );
    return value!;
  }

  /** Runs a unary or client-stream method on `server` and keeps its response there (`{ keep: true }`). */
  async keepOn<Req, Res>(
    server: PoolServer,
    method: MethodSpec<Req, Res>,
    requests: readonly Req[],
    options: StoreCallOptions = {},
  ): Promise<ValueHandle<Res>> {
    const reply = await server.unary(
      store.keep,
      { method: method.path, requests: requests.map((r) => method.requestSerialize(r)), owner: this.owner },
      { signal: options.signal },
    );
    return this.#adopt(server.address, reply.handle, reply.size, (b) => method.responseDeserialize(b));
  }

  /** Drops values: the servers' (`servers`, default true) and the pool's copies (`client`, default true). */
  async drop(
    handles: readonly ValueHandle<unknown>[],
    options: { servers?: boolean; client?: boolean } = {},
  ): Promise<void> {
    const byServer = new Map<string, string[]>();
    for (const { id } of handles) {
      const entry = this.#entries.get(id);
      if (!entry) continue;
      if (options.client !== false) entry.bytes = undefined;
      if (options.servers === false) continue;
      for (const address of entry.holders) byServer.set(address, [...(byServer.get(address) ?? []), id]);
      entry.holders.clear();
      if (!entry.bytes) this.#entries.delete(id);
    }
    await Promise.allSettled(
      this.#servers
        .filter((s) => byServer.has(s.address))
        .map((s) =>
          s.unary(store.drop, { owner: this.owner, handles: byServer.get(s.address)! }, { timeoutMs: 5_000 }),
        ),
    );
  }

  /** Every value of this pool dropped from every server that holds some (the pool closes). */
  async release(): Promise<void> {
    const holding = new Set([...this.#entries.values()].flatMap((e) => [...e.holders]));
    this.#entries.clear();
    await Promise.allSettled(
      this.#servers
        .filter((s) => holding.has(s.address))
        .map((s) => s.unary(store.drop, { owner: this.owner, handles: [] }, { timeoutMs: 2_000 })),
    );
  }

  /** Each server's store: what it holds, and the Put calls and bytes it received. */
  async stats(options: StoreCallOptions = {}): Promise<Array<{ server: string; stats: StatsResponse }>> {
    return Promise.all(
      this.#servers.map(async (s) => ({
        server: s.address,
        stats: await s.unary(store.stats, {}, { signal: options.signal }),
      })),
    );
  }

  /** Where the pool knows a value to be: its home (scattered, kept), the servers holding it, its copy. */
  locate(id: string): { home?: string; holders: string[]; copy: boolean } {
    const entry = this.#entries.get(id);
    return { home: this.homeOf(id), holders: [...(entry?.holders ?? [])], copy: entry?.bytes !== undefined };
  }

  /** The server a value lives on, for a task working on it; none for broadcast or unknown values. */
  homeOf(id: string): string | undefined {
    const entry = this.#entries.get(id);
    return entry && !entry.broadcast ? entry.home : undefined;
  }

  /**
   * Repairs `server` when `error` says it lacks a value of this pool: puts the value there (the
   * pool's copy, or fetched from another server) and answers true, so the task runs again. A value
   * nobody holds any more is a clear error naming it.
   */
  async recover(error: unknown, server: ServerConnection, signal: AbortSignal): Promise<boolean> {
    const id = missingHandleOf(ClientError.from(error));
    const entry = id === undefined ? undefined : this.#entries.get(id);
    if (!id || !entry) return false;
    entry.holders.delete(server.address);
    // Only a value no server holds is lost; a fetch that failed otherwise (a server unreachable
    // for now, a deadline, the caller's abort) fails the repair with its own error, which the
    // engine judges as any other (UNAVAILABLE runs the task again).
    const bytes = entry.bytes ?? (await this.#fetch(id, entry, { signal }, server.address));
    await this.#put(server, id, bytes, { signal });
    // A scattered value moves with its task: from now on it lives here.
    if (entry.home !== undefined) entry.home = server.address;
    return true;
  }

  /** A value's bytes: the pool's copy, else from a server that holds it (checked against its hash). */
  async bytesOf(id: string, options: StoreCallOptions = {}): Promise<Buffer> {
    const entry = this.#entries.get(id);
    if (entry?.bytes) return entry.bytes;
    return this.#fetch(id, entry, options);
  }

  /**
   * A value from a server that holds it. VALUE_LOST only when every server asked answered that it
   * does not hold it; any other failure is thrown as itself, and the caller's abort as CANCELLED.
   * `lacking`: a server known not to hold it (the one being repaired).
   */
  async #fetch(
    id: string,
    entry: Entry | undefined,
    options: StoreCallOptions,
    lacking?: string,
  ): Promise<Buffer> {
    const holders = new Set([...(entry?.home ? [entry.home] : []), ...(entry?.holders ?? [])]);
    // Unknown to this pool (another pool's handle): any server may hold it. A server the pool
    // judged failed (cooling down) counts as lost, as for the tasks whose home it was.
    const candidates = this.#servers.filter(
      (s) => s.address !== lacking && !s.cooling && (entry === undefined || holders.has(s.address)),
    );
    let failure: ClientError | undefined;
    // Servers unreachable for a moment (UNAVAILABLE: restarting, a connection reset) are asked
    // again after a short back-off, a few times; any other failure is final.
    let left = candidates;
    for (let round = 0; left.length > 0 && round < fetchRounds; round++) {
      if (round > 0) await pause(100 * 2 ** (round - 1), options.signal);
      const again: ServerConnection[] = [];
      for (const server of left) {
        if (options.signal?.aborted) throw ClientError.fromAbort(options.signal, server.address);
        try {
          const bytes = await this.#get(server, id, options, entry?.size);
          entry?.holders.add(server.address);
          return bytes;
        } catch (error) {
          if (options.signal?.aborted) throw ClientError.fromAbort(options.signal, server.address);
          const caught = ClientError.from(error, server.address);
          if (lacks(caught, id)) {
            entry?.holders.delete(server.address);
            continue;
          }
          failure = caught;
          if (caught.code === status.UNAVAILABLE) again.push(server);
        }
      }
      left = again;
    }
    if (failure) throw failure;
    const where = lacking
      ? `${lacking} does not hold it, no other server of the pool does`
      : "no server of the pool holds it";
    throw valueLost(
      id,
      entry ? `${where}, and the pool keeps no copy (dropped, or a result kept on a server)` : where,
    );
  }

  /**
   * One value by StoreService/Get, with a deadline, refused as soon as the server sends more than
   * it announced or announces more than `expected` (the size the pool knows) or `maxValueBytes`:
   * a broken or hostile server cannot make the pool hold more than the value.
   */
  async #get(server: PoolServer, id: string, options: StoreCallOptions, expected?: number): Promise<Buffer> {
    const refuse = (code: number, why: string) =>
      new ClientError(code, `${server.address} ${why}`, { server: server.address });
    const timeoutMs = options.timeoutMs ?? getTimeoutMs(expected ?? this.maxValueBytes);
    const chunks: Buffer[] = [];
    let announced: number | undefined;
    let received = 0;
    for await (const reply of server.serverStream(
      store.get,
      { handle: id },
      { signal: options.signal, timeoutMs },
    )) {
      if (announced === undefined) {
        announced = Number(reply.size);
        if (expected !== undefined && announced !== expected) {
          throw refuse(status.DATA_LOSS, `announced ${announced} bytes for ${id}, a value of ${expected}`);
        }
        if (announced > this.maxValueBytes) {
          throw refuse(
            status.RESOURCE_EXHAUSTED,
            `announced ${announced} bytes for ${id}, more than this pool takes (${this.maxValueBytes})`,
          );
        }
      }
      received += reply.chunk.byteLength;
      if (received > announced) {
        throw refuse(status.DATA_LOSS, `sent more than the ${announced} bytes it announced for ${id}`);
      }
      chunks.push(reply.chunk);
    }
    const bytes = Buffer.concat(chunks, received);
    if (handleOf(bytes) !== id) {
      throw refuse(status.DATA_LOSS, `sent bytes for ${id} that do not hash to it`);
    }
    return bytes;
  }

  /**
   * Puts a value on a server; the same value asked for there twice at once travels once. Each
   * caller waits with its own signal: one that aborts leaves, and the Put is cancelled only when
   * no caller waits for it any more.
   */
  #put(server: PoolServer, id: string, bytes: Buffer, options: StoreCallOptions): Promise<void> {
    const key = `${server.address} ${id}`;
    let shared = this.#putting.get(key);
    if (!shared || shared.controller.signal.aborted) {
      const controller = new AbortController();
      const promise = this.#send(server, id, bytes, controller.signal).finally(() => {
        if (this.#putting.get(key) === shared) this.#putting.delete(key);
      });
      // Every caller may have left: the Put's own failure is then nobody's.
      promise.catch(() => {});
      shared = { promise, controller, waiters: 0 };
      this.#putting.set(key, shared);
    }
    return join(shared, options.signal, server.address);
  }

  async #send(server: PoolServer, id: string, bytes: Buffer, signal: AbortSignal): Promise<void> {
    const owner = this.owner;
    function* requests() {
      yield { header: { handle: id, size: bytes.byteLength, owner } };
      for (let at = 0; at < bytes.byteLength; at += chunkBytes)
        yield { chunk: bytes.subarray(at, at + chunkBytes) };
    }
    this.traffic.puts++;
    this.traffic.bytes += bytes.byteLength;
    await server.clientStream(store.put, requests(), { signal });
    this.#entries.get(id)?.holders.add(server.address);
  }

  /** Puts a scattered value on servers[first], or the next server that takes it. */
  async #putSomewhere(
    servers: readonly ServerConnection[],
    first: number,
    id: string,
    bytes: Buffer,
    options: StoreCallOptions,
  ): Promise<void> {
    let last: unknown;
    for (let k = 0; k < servers.length; k++) {
      const server = servers[(first + k) % servers.length]!;
      try {
        await this.#put(server, id, bytes, options);
        this.#entries.get(id)!.home = server.address;
        return;
      } catch (error) {
        last = error;
        if (options.signal?.aborted) break;
      }
    }
    throw ClientError.from(last);
  }

  /** Combines the values one server holds there; their values instead if that fails (the server is gone). */
  async #reduceOn<V>(
    address: string,
    ids: string[],
    op: ReduceOp<V>,
    options: StoreCallOptions,
  ): Promise<Buffer[]> {
    const server = this.#servers.find((s) => s.address === address);
    if (server && ids.length > 1) {
      for (let repairs = 0; repairs < 3; repairs++) {
        try {
          const reply = await server.unary(
            store.reduce,
            { method: op.path, handles: ids, owner: this.owner },
            { signal: options.signal },
          );
          const bytes = await this.#get(server, reply.handle, options, reply.size);
          // The partial result served its purpose: the server need not keep it.
          void server.unary(store.drop, { owner: this.owner, handles: [reply.handle] }).catch(() => {});
          return [bytes];
        } catch (error) {
          if (options.signal?.aborted) throw ClientError.from(error);
          const signal = options.signal ?? new AbortController().signal;
          if (!(await this.recover(error, server, signal).catch(() => false))) break;
        }
      }
    }
    return Promise.all(ids.map((id) => this.bytesOf(id, options)));
  }

  #register(bytes: Buffer, decode: (b: Buffer) => unknown): ValueHandle<unknown> {
    const id = handleOf(bytes);
    if (!this.#entries.has(id)) {
      this.#entries.set(id, { size: bytes.byteLength, decode, holders: new Set(), broadcast: false });
    }
    return new ValueHandle(id, bytes.byteLength, decode);
  }

  #adopt<T>(address: string, id: string, size: number, decode: (b: Buffer) => T): ValueHandle<T> {
    const entry = this.#entries.get(id) ?? { size, decode, holders: new Set<string>(), broadcast: false };
    entry.holders.add(address);
    entry.home ??= address;
    this.#entries.set(id, entry);
    return new ValueHandle(id, size, decode);
  }
}

/** Waits for a shared Put with the caller's own signal. */
function join(shared: SharedPut, signal: AbortSignal | undefined, address: string): Promise<void> {
  shared.waiters++;
  return new Promise<void>((resolve, reject) => {
    let left = false;
    const leave = () => {
      if (left) return false;
      left = true;
      signal?.removeEventListener("abort", onAbort);
      shared.waiters--;
      return true;
    };
    const onAbort = () => {
      if (!leave()) return;
      if (shared.waiters === 0) shared.controller.abort(signal!.reason);
      reject(ClientError.fromAbort(signal!, address));
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    shared.promise.then(
      () => leave() && resolve(),
      (error: unknown) => leave() && reject(error),
    );
  });
}
