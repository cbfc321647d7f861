/**
 * The client connections of a server, as the bounds on them see them (connection-limits.ts wires
 * it to the sockets, call-guard.ts tells it of calls). When a new connection would exceed a cap,
 * the connection that has shown least goes to make room, so that no number of silent or
 * unauthenticated connections can keep a real client out:
 *
 * 1. one that has not sent its HTTP/2 preface yet (a silent socket), the oldest first;
 * 2. one that has not proven itself (no call with a valid token, or on a server without a token
 *    no call besides health) and has no call in flight but health calls, the oldest first;
 * 3. one without calls in flight but health calls, the one idle longest first.
 *
 * A connection with a call in flight (other than health) is never evicted: when every one is
 * busy, the new connection is refused instead. A health call never makes a connection busy: a
 * Watch is open for ever, and a Check whose request never comes is too; either would make any
 * connection unevictable, without a token, for the cost of one stream.
 */
export interface ConnectionCaps {
  /** Most client connections open at once (--max-connections). */
  maxConnections: number;
  /** Most client connections from one IP address (--max-connections-per-address). */
  maxConnectionsPerAddress: number;
}

/** What a call tells the table of its connection. */
export interface CallKind {
  /** A call with a valid token (or, on a server without one, a call besides health). */
  proven: boolean;
  /** A health call (Check, Watch, List), which never makes its connection busy. */
  health: boolean;
}

interface Entry {
  readonly key: string;
  readonly address: string;
  readonly order: number;
  prefaced: boolean;
  proven: boolean;
  /** Calls in flight, health calls not counted. */
  calls: number;
  health: number;
  /** When its last call ended (or it opened), for the idle ones. */
  idleSince: number;
  readonly close: () => void;
}

/** A connection the table admitted. */
export interface AdmittedConnection {
  /** It is gone (closed by either side); calling it twice is harmless. */
  remove(): void;
  /** Its HTTP/2 preface came (or a call did). */
  isPrefaced(): boolean;
}

export class ConnectionTable {
  readonly #entries = new Map<string, Entry>();
  readonly #perAddress = new Map<string, number>();
  #order = 0;
  /** Connections closed to make room, for Info and tests. */
  evicted = 0;
  /** New connections refused because every one held was busy. */
  refused = 0;

  constructor(
    readonly caps: ConnectionCaps,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  /**
   * A new connection, keyed `ADDRESS:PORT` as grpc-js's getPeer says it. Returns undefined when it
   * is refused (the caller closes it); `close` is how the table evicts it later.
   */
  admit(key: string, address: string, close: () => void): AdmittedConnection | undefined {
    // A port reused before the old socket's close was seen: the old one is gone.
    this.#remove(key);
    const entry: Entry = {
      key,
      address,
      order: this.#order++,
      prefaced: false,
      proven: false,
      calls: 0,
      health: 0,
      idleSince: this.now(),
      close,
    };
    if ((this.#perAddress.get(address) ?? 0) >= this.caps.maxConnectionsPerAddress) {
      if (!this.#evictOne((other) => other.address === address)) return this.#refuse();
    }
    if (this.#entries.size >= this.caps.maxConnections) {
      if (!this.#evictOne(() => true)) return this.#refuse();
    }
    this.#entries.set(key, entry);
    this.#perAddress.set(address, (this.#perAddress.get(address) ?? 0) + 1);
    return {
      remove: () => {
        if (this.#entries.get(key) === entry) this.#remove(key);
      },
      isPrefaced: () => entry.prefaced,
    };
  }

  /** Forgets the connection of this key. */
  #remove(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    const left = (this.#perAddress.get(entry.address) ?? 1) - 1;
    if (left <= 0) this.#perAddress.delete(entry.address);
    else this.#perAddress.set(entry.address, left);
  }

  /** The connection sent its HTTP/2 preface (its SETTINGS came). */
  prefaced(key: string): void {
    const entry = this.#entries.get(key);
    if (entry) entry.prefaced = true;
  }

  /** A call began on the connection `peer`; returns the function that ends it (once). */
  callStarted(peer: string, kind: CallKind): () => void {
    const entry = this.#entries.get(peer);
    if (!entry) return () => {};
    entry.prefaced = true;
    if (kind.proven) entry.proven = true;
    if (kind.health) entry.health++;
    else entry.calls++;
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      if (kind.health) entry.health--;
      else if (--entry.calls === 0) entry.idleSince = this.now();
    };
  }

  /** Connections whose only calls are health calls, idle since before `since`: the idle timeout's. */
  healthOnlyIdleSince(since: number): Array<{ key: string; close: () => void }> {
    return [...this.#entries.values()].filter((e) => e.calls === 0 && e.health > 0 && e.idleSince < since);
  }

  #refuse(): undefined {
    this.refused++;
    return undefined;
  }

  /** Evicts the connection that has shown least among those `among` accepts; false if all are busy. */
  #evictOne(among: (entry: Entry) => boolean): boolean {
    let best: Entry | undefined;
    let bestRank = Number.POSITIVE_INFINITY;
    for (const entry of this.#entries.values()) {
      if (entry.calls > 0 || !among(entry)) continue;
      const rank = !entry.prefaced ? 0 : !entry.proven ? 1 : 2;
      if (rank > bestRank) continue;
      // The oldest of the unproven, the longest idle of the proven (the map is in opening order).
      if (rank < bestRank || (rank === 2 && entry.idleSince < best!.idleSince)) {
        best = entry;
        bestRank = rank;
        // The first silent one found is the oldest: none can rank before it.
        if (rank === 0) break;
      }
    }
    if (!best) return false;
    this.#remove(best.key);
    this.evicted++;
    best.close();
    return true;
  }
}
