import { status } from "@grpc/grpc-js";
import { ServerError } from "../rpc/server-error.js";
import { valueMissing } from "../rpc/value-missing.js";

export interface ValueStoreOptions {
  /** Most bytes of values held at once (default 128 MiB: an eighth of the 1 GiB deploy limit). */
  capacityBytes?: number;
  /** A value not used for this long is dropped (default 10 minutes): a dead client leaks nothing for long. */
  idleMs?: number;
  /** The clock (tests). */
  now?: () => number;
}

export const defaultStoreBytes = 128 << 20;
export const defaultStoreIdleMs = 10 * 60_000;

interface Entry {
  bytes: Buffer;
  owners: Set<string>;
  usedAt: number;
}

/** What the store holds and has seen, as StoreService/Stats reports it. */
export interface StoreCounters {
  puts: number;
  putBytes: number;
  putDuplicates: number;
  evicted: number;
  expired: number;
  dropped: number;
  misses: number;
}

/**
 * A server's values by handle (the hex SHA-256 of their bytes), bounded by bytes: the least
 * recently used go first when a new value needs room, values idle for `idleMs` are dropped, and a
 * value goes when its last owner (a pool) drops it. Hosted methods read values with `get`, which
 * refuses a handle it does not hold with VALUE_MISSING (the pool puts the value again and retries).
 */
export class ValueStore {
  /** Insertion order is use order: a value used is moved to the end; the front is the least recent. */
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;
  readonly capacityBytes: number;
  readonly idleMs: number;
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout;
  readonly counters: StoreCounters = {
    puts: 0,
    putBytes: 0,
    putDuplicates: 0,
    evicted: 0,
    expired: 0,
    dropped: 0,
    misses: 0,
  };

  constructor(options: ValueStoreOptions = {}) {
    this.capacityBytes = options.capacityBytes ?? defaultStoreBytes;
    this.idleMs = options.idleMs ?? defaultStoreIdleMs;
    this.#now = options.now ?? Date.now;
    // Idle values go even when nobody calls: a sweep now and then, which never keeps the process up.
    this.#timer = setInterval(() => this.sweep(), Math.max(50, Math.min(this.idleMs / 2, 30_000)));
    this.#timer.unref();
  }

  /** Values held now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Bytes of values held now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The value's bytes; a handle not held is FAILED_PRECONDITION with reason VALUE_MISSING. */
  get(handle: string): Buffer {
    const entry = this.#touch(handle);
    if (!entry) {
      this.counters.misses++;
      throw valueMissing(handle);
    }
    return entry.bytes;
  }

  has(handle: string): boolean {
    return this.#touch(handle) !== undefined;
  }

  /** Refuses a value that could never fit, before its bytes are received. */
  checkFits(size: number): void {
    if (size > this.capacityBytes) {
      throw new ServerError(
        status.RESOURCE_EXHAUSTED,
        `a value of ${size} bytes is larger than this server's store (--store-bytes ${this.capacityBytes})`,
      );
    }
  }

  /**
   * Adds `owner` to a held value; false when the value is not held (its bytes are needed). A put
   * that brings nothing new is counted as a duplicate.
   */
  adopt(handle: string, owner: string): boolean {
    const entry = this.#touch(handle);
    if (!entry) return false;
    entry.owners.add(owner);
    return true;
  }

  /** Stores a value for `owner` (the caller checked its hash), making room by evicting the least recently used. */
  put(handle: string, bytes: Buffer, owner: string): boolean {
    if (this.adopt(handle, owner)) return false;
    this.checkFits(bytes.byteLength);
    this.sweep();
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes + bytes.byteLength <= this.capacityBytes) break;
      this.#remove(oldest, entry);
      this.counters.evicted++;
    }
    this.#entries.set(handle, { bytes, owners: new Set([owner]), usedAt: this.#now() });
    this.#bytes += bytes.byteLength;
    return true;
  }

  /** The owner gives up the handles (every value it owns when none are named); returns the values removed. */
  drop(owner: string, handles: readonly string[] = []): number {
    const targets = handles.length > 0 ? handles : [...this.#entries.keys()];
    let removed = 0;
    for (const handle of targets) {
      const entry = this.#entries.get(handle);
      if (!entry?.owners.delete(owner) || entry.owners.size > 0) continue;
      this.#remove(handle, entry);
      removed++;
    }
    this.counters.dropped += removed;
    return removed;
  }

  /** Drops the values idle for longer than `idleMs` (the least recently used come first). */
  sweep(): void {
    const before = this.#now() - this.idleMs;
    for (const [handle, entry] of this.#entries) {
      if (entry.usedAt > before) break;
      this.#remove(handle, entry);
      this.counters.expired++;
    }
  }

  /** Stops the sweeps and forgets every value (the server stopped). */
  close(): void {
    clearInterval(this.#timer);
    this.#entries.clear();
    this.#bytes = 0;
  }

  #touch(handle: string): Entry | undefined {
    const entry = this.#entries.get(handle);
    if (!entry) return undefined;
    if (entry.usedAt <= this.#now() - this.idleMs) {
      this.#remove(handle, entry);
      this.counters.expired++;
      return undefined;
    }
    entry.usedAt = this.#now();
    this.#entries.delete(handle);
    this.#entries.set(handle, entry);
    return entry;
  }

  #remove(handle: string, entry: Entry): void {
    this.#entries.delete(handle);
    this.#bytes -= entry.bytes.byteLength;
  }
}
