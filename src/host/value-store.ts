import { status } from "@grpc/grpc-js";
import { ServerError } from "../rpc/server-error.js";
import { valueMissing } from "../rpc/value-missing.js";

export interface ValueStoreOptions {
  /**
   * Most bytes the store holds at once (default 128 MiB: an eighth of the 1 GiB deploy limit):
   * values, their bookkeeping (`entryOverheadBytes` each, and their owners), and the bytes of
   * values still arriving.
   */
  capacityBytes?: number;
  /** A value not used for this long is dropped (default 10 minutes): a dead client leaks nothing for long. */
  idleMs?: number;
  /** A Put that sends nothing for this long is refused and its bytes freed (default 30 s). */
  putStallMs?: number;
  /**
   * The share of the store that Puts cannot take from kept results (default 0.25): results kept
   * on a server exist nowhere else, so a flood of Puts must not evict them all.
   */
  keptShare?: number;
  /** The clock (tests). */
  now?: () => number;
}

export const defaultStoreBytes = 128 << 20;
export const defaultStoreIdleMs = 10 * 60_000;
export const defaultPutStallMs = 30_000;
export const defaultKeptShare = 0.25;

/**
 * What a value costs besides its bytes, counted against the bound: its Map entry, its handle (64
 * characters), its owner set, and the allocator's share of a small buffer. Measured: 200,000
 * values of 47 bytes put over gRPC grew a server by about 2 KB each beyond their bytes
 * (docs/collectives.md), so a store full of tiny values stays near its bound.
 */
export const entryOverheadBytes = 2048;
/** An owner of a value costs its characters (at most two bytes each) and a Set slot. */
export const ownerOverheadBytes = 64;
/** Owner ids are a pool's random UUID (36 characters); longer ones are refused. */
export const maxOwnerChars = 128;
/** Pools that may own one value at once; one more is refused (RESOURCE_EXHAUSTED). */
export const maxOwnersPerValue = 1024;

interface Entry {
  bytes: Buffer;
  owners: Set<string>;
  usedAt: number;
  /** A result kept here (Keep, Reduce): no client holds a copy. */
  kept: boolean;
  /** What it counts against the bound: its bytes, its overhead and its owners. */
  cost: number;
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
  /** Puts refused while their bytes arrived (the store full of values in transit and kept results) or stalled. */
  putsRefused: number;
}

const ownerCost = (owner: string) => ownerOverheadBytes + 2 * owner.length;

/**
 * Bytes of one value in transit (a Put receiving its chunks), counted against the store's bound
 * as they arrive; `release` gives them back (the value stored, or the Put failed).
 */
export interface Reservation {
  readonly bytes: number;
  /** Counts `n` more bytes; RESOURCE_EXHAUSTED when the store cannot make room for them. */
  grow(n: number): void;
  release(): void;
}

/**
 * A server's values by handle (the hex SHA-256 of their bytes), bounded by bytes: the least
 * recently used go first when a new value needs room, values idle for `idleMs` are dropped, and a
 * value goes when its last owner (a pool) drops it. Hosted methods read values with `get`, which
 * refuses a handle it does not hold with VALUE_MISSING (the pool puts the value again and retries).
 * Everything a client can make it hold is counted: values, their bookkeeping and owners, and the
 * bytes of Puts under way; kept results have a share that Puts cannot evict.
 */
export class ValueStore {
  /** Insertion order is use order: a value used is moved to the end; the front is the least recent. */
  readonly #entries = new Map<string, Entry>();
  /** Everything counted against the bound. */
  #bytes = 0;
  #valueBytes = 0;
  #keptBytes = 0;
  #transitBytes = 0;
  readonly capacityBytes: number;
  readonly idleMs: number;
  readonly putStallMs: number;
  /** Bytes of kept results that Puts cannot evict. */
  readonly keptReserveBytes: number;
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
    putsRefused: 0,
  };

  constructor(options: ValueStoreOptions = {}) {
    this.capacityBytes = options.capacityBytes ?? defaultStoreBytes;
    this.idleMs = options.idleMs ?? defaultStoreIdleMs;
    this.putStallMs = options.putStallMs ?? defaultPutStallMs;
    const share = Math.min(1, Math.max(0, options.keptShare ?? defaultKeptShare));
    this.keptReserveBytes = Math.floor(this.capacityBytes * share);
    this.#now = options.now ?? Date.now;
    // Idle values go even when nobody calls: a sweep now and then, which never keeps the process up.
    this.#timer = setInterval(() => this.sweep(), Math.max(50, Math.min(this.idleMs / 2, 30_000)));
    this.#timer.unref();
  }

  /** Values held now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Bytes counted against the bound now: values, their bookkeeping and owners, values in transit. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The values' own bytes. */
  get valueBytes(): number {
    return this.#valueBytes;
  }

  /** Bytes counted for kept results (Keep, Reduce). */
  get keptBytes(): number {
    return this.#keptBytes;
  }

  /** Bytes of Puts still arriving. */
  get transitBytes(): number {
    return this.#transitBytes;
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
    if (size + entryOverheadBytes > this.capacityBytes) {
      throw new ServerError(
        status.RESOURCE_EXHAUSTED,
        `a value of ${size} bytes is larger than this server's store (--store-bytes ${this.capacityBytes}, ${entryOverheadBytes} bytes of it per value for bookkeeping)`,
      );
    }
  }

  /**
   * Adds `owner` to a held value; false when the value is not held (its bytes are needed). A put
   * that brings nothing new is counted as a duplicate.
   */
  adopt(handle: string, owner: string, kept = false): boolean {
    const entry = this.#touch(handle);
    if (!entry) return false;
    if (kept && !entry.kept) {
      entry.kept = true;
      this.#keptBytes += entry.cost;
    }
    if (entry.owners.has(owner)) return true;
    if (entry.owners.size >= maxOwnersPerValue) {
      throw new ServerError(
        status.RESOURCE_EXHAUSTED,
        `value ${handle} has ${entry.owners.size} owners, the most one value may have`,
      );
    }
    this.#makeRoom(ownerCost(owner), true, handle);
    entry.owners.add(owner);
    this.#charge(entry, ownerCost(owner));
    return true;
  }

  /** Counts the bytes of a value as they arrive (a Put), refusing them when the store cannot make room. */
  reserve(): Reservation {
    let held = 0;
    let released = false;
    return {
      get bytes() {
        return held;
      },
      grow: (n: number) => {
        if (released) return;
        try {
          this.#makeRoom(n, false);
        } catch (error) {
          this.counters.putsRefused++;
          throw error;
        }
        held += n;
        this.#transitBytes += n;
        this.#bytes += n;
      },
      release: () => {
        if (released) return;
        released = true;
        this.#transitBytes -= held;
        this.#bytes -= held;
      },
    };
  }

  /**
   * Stores a value for `owner` (the caller checked its hash), making room by evicting the least
   * recently used; `kept` for a result computed here. A Put's reservation is given back as the
   * value takes its place.
   */
  put(
    handle: string,
    bytes: Buffer,
    owner: string,
    options: { kept?: boolean; reservation?: Reservation } = {},
  ): boolean {
    const kept = options.kept ?? false;
    options.reservation?.release();
    if (this.adopt(handle, owner, kept)) return false;
    this.checkFits(bytes.byteLength);
    this.sweep();
    const cost = bytes.byteLength + entryOverheadBytes + ownerCost(owner);
    this.#makeRoom(cost, kept);
    this.#entries.set(handle, { bytes, owners: new Set([owner]), usedAt: this.#now(), kept, cost });
    this.#bytes += cost;
    this.#valueBytes += bytes.byteLength;
    if (kept) this.#keptBytes += cost;
    return true;
  }

  /** The owner gives up the handles (every value it owns when none are named); returns the values removed. */
  drop(owner: string, handles: readonly string[] = []): number {
    const targets = handles.length > 0 ? handles : [...this.#entries.keys()];
    let removed = 0;
    for (const handle of targets) {
      const entry = this.#entries.get(handle);
      if (!entry?.owners.delete(owner)) continue;
      if (entry.owners.size > 0) {
        this.#charge(entry, -ownerCost(owner));
        continue;
      }
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
    this.#bytes = this.#transitBytes;
    this.#valueBytes = 0;
    this.#keptBytes = 0;
  }

  /**
   * Evicts the least recently used until `need` more bytes fit. Kept results go only for another
   * kept result, or while they hold more than their reserved share; `spare` is never evicted (the
   * value being added to). RESOURCE_EXHAUSTED when that is not enough.
   */
  #makeRoom(need: number, forKept: boolean, spare?: string): void {
    for (const [handle, entry] of this.#entries) {
      if (this.#bytes + need <= this.capacityBytes) return;
      if (handle === spare) continue;
      if (entry.kept && !forKept && this.#keptBytes <= this.keptReserveBytes) continue;
      this.#remove(handle, entry);
      this.counters.evicted++;
    }
    if (this.#bytes + need <= this.capacityBytes) return;
    throw new ServerError(
      status.RESOURCE_EXHAUSTED,
      `this server's store is full (--store-bytes ${this.capacityBytes}): ${this.#transitBytes} bytes of values arriving, ${this.#keptBytes} of kept results (up to ${this.keptReserveBytes} of them are not evicted for Puts); try again later`,
    );
  }

  #charge(entry: Entry, n: number): void {
    entry.cost += n;
    this.#bytes += n;
    if (entry.kept) this.#keptBytes += n;
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
    this.#bytes -= entry.cost;
    this.#valueBytes -= entry.bytes.byteLength;
    if (entry.kept) this.#keptBytes -= entry.cost;
  }
}
