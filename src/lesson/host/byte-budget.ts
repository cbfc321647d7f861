/**
 * One server-wide count of the bytes table calls hold outside the piece slots (the end of a line
 * still waiting for its newline). Each call is bounded by --max-line-bytes, but a thousand calls
 * each holding a long line would still outgrow a pod's memory: they all draw on this budget.
 *
 * The budget is shared fairly between clients (a client is a connection: its peer address and
 * port), so that one client's stalled streams cannot keep every other client's tables out:
 * - while the budget has room, anyone takes from it;
 * - when it is full, a client holding less than its fair share (the cap over the clients holding
 *   bytes, the newcomer counted) takes the room back from the client holding the most above its
 *   share: that client's largest holder is evicted (its call refused RESOURCE_EXHAUSTED);
 * - a client already at its share is refused instead (BufferBudgetSpent).
 * A holder that holds bytes and receives none for `stallMs` is evicted too: a stalled line does
 * not keep its bytes until the connection's idle timeout.
 */
export class ByteBudget {
  #held = 0;
  readonly #clients = new Map<string, Set<BudgetHolder>>();

  constructor(
    readonly capBytes: number,
    /** How long a holder may hold bytes without receiving any (--stall-timeout-ms); 0: forever. */
    readonly stallMs = 0,
  ) {}

  /** A call's account with the budget, for `client`; closed (its bytes given back) when the call ends. */
  holder(client: string): BudgetHolder {
    return new BudgetHolder(this, client);
  }

  /** Bytes held now (for tests and Info). */
  get held(): number {
    return this.#held;
  }

  /** @internal BudgetHolder's: takes bytes for `holder`, evicting others over their share. */
  take(holder: BudgetHolder, bytes: number): boolean {
    if (this.#held + bytes > this.capBytes && !this.#makeRoom(holder, bytes)) return false;
    this.#held += bytes;
    let holders = this.#clients.get(holder.client);
    if (!holders) this.#clients.set(holder.client, (holders = new Set()));
    holders.add(holder);
    return true;
  }

  /** @internal BudgetHolder's: gives back `bytes`; a holder left with none stops counting. */
  give(holder: BudgetHolder, bytes: number): void {
    this.#held = Math.max(0, this.#held - bytes);
    if (holder.held > 0) return;
    const holders = this.#clients.get(holder.client);
    holders?.delete(holder);
    if (holders?.size === 0) this.#clients.delete(holder.client);
  }

  #clientHeld(client: string): number {
    let held = 0;
    for (const holder of this.#clients.get(client) ?? []) held += holder.held;
    return held;
  }

  /** Evicts holders of clients above their fair share until `bytes` fit; false if they cannot. */
  #makeRoom(taker: BudgetHolder, bytes: number): boolean {
    const clients = this.#clients.size + (this.#clients.has(taker.client) ? 0 : 1);
    const share = this.capBytes / clients;
    if (this.#clientHeld(taker.client) + bytes > share) return false;
    while (this.#held + bytes > this.capBytes) {
      let greediest: { client: string; held: number } | undefined;
      for (const client of this.#clients.keys()) {
        if (client === taker.client) continue;
        const held = this.#clientHeld(client);
        if (held > share && held > (greediest?.held ?? 0)) greediest = { client, held };
      }
      if (!greediest) return false;
      let largest: BudgetHolder | undefined;
      for (const holder of this.#clients.get(greediest.client)!)
        if (holder.held > (largest?.held ?? 0)) largest = holder;
      largest!.evict(new BufferBudgetSpent(this.capBytes, "share"));
    }
    return true;
  }
}

/** Why a holder was refused or evicted: the budget is full, it held more than its share, or it stalled. */
export type SpentReason = "full" | "share" | "stalled";

/** The budget of held bytes was refused or taken back: the call is refused, the server stays bounded. */
export class BufferBudgetSpent extends Error {
  constructor(
    readonly capBytes: number,
    readonly reason: SpentReason = "full",
    stallMs = 0,
  ) {
    super(
      reason === "stalled"
        ? `a line waited ${stallMs} ms for more bytes while holding this server's buffer (--stall-timeout-ms)`
        : reason === "share"
          ? `this connection held more than its share of this server's ${capBytes} bytes of unfinished lines while another client needed them (--max-buffer-bytes); try again later`
          : `this server holds its cap of ${capBytes} bytes of unfinished lines (--max-buffer-bytes); try again later`,
    );
  }
}

/**
 * One call's bytes in the budget. `take` and `give` count them; `signal` aborts (with a
 * BufferBudgetSpent) when the budget takes them back, so that a call waiting on its client for
 * more bytes stops waiting. Its bytes no longer count from that moment.
 */
export class BudgetHolder {
  #held = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #evicted = new AbortController();

  constructor(
    readonly budget: ByteBudget,
    readonly client: string,
  ) {}

  get held(): number {
    return this.#held;
  }

  get capBytes(): number {
    return this.budget.capBytes;
  }

  /** Aborted when the holder is evicted; its reason is the BufferBudgetSpent to refuse the call with. */
  get signal(): AbortSignal {
    return this.#evicted.signal;
  }

  /** Takes `bytes`; false (and nothing taken) when the budget refuses them. Throws once evicted. */
  take(bytes: number): boolean {
    if (this.#evicted.signal.aborted) throw this.#evicted.signal.reason;
    if (!this.budget.take(this, bytes)) return false;
    this.#held += bytes;
    this.#watch();
    return true;
  }

  give(bytes: number): void {
    if (this.#evicted.signal.aborted) return;
    const given = Math.min(bytes, this.#held);
    this.#held -= given;
    this.budget.give(this, given);
    this.#watch();
  }

  /** Gives everything back: the call is over. */
  close(): void {
    clearTimeout(this.#timer);
    this.give(this.#held);
  }

  /** @internal The budget's: takes the bytes back and aborts the holder's call. */
  evict(reason: BufferBudgetSpent): void {
    if (this.#evicted.signal.aborted) return;
    clearTimeout(this.#timer);
    const held = this.#held;
    this.#held = 0;
    this.budget.give(this, held);
    this.#evicted.abort(reason);
  }

  /** Restarts the stall clock: it runs while bytes are held, from the last bytes received. */
  #watch(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const stallMs = this.budget.stallMs;
    if (this.#held === 0 || stallMs <= 0) return;
    this.#timer = setTimeout(
      () => this.evict(new BufferBudgetSpent(this.budget.capBytes, "stalled", stallMs)),
      stallMs,
    );
    this.#timer.unref();
  }
}
