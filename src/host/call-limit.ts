/** The bounds on calls in flight: server-wide (--max-calls) and per client connection. */
export interface CallLimits {
  /** Most calls in flight on the whole server, batch items included (health Watches have their own cap). */
  maxCalls?: number;
  /** Most calls in flight from one client connection (its batch items included). */
  maxCallsPerConnection?: number;
  /**
   * Most calls in flight (running or waiting for a worker thread) from one client: its connection,
   * or the name it gives itself in `rpcpool-client` metadata (client-key.ts), whatever its connections.
   */
  maxCallsPerClient?: number;
}

/**
 * Counts calls in flight, in all and per connection, for the guard (every call but a health
 * Watch, which the guard caps apart) and for the batch (each item it runs is a call). Opening more connections does not
 * get round the per-connection bound: the server-wide one holds whatever their number.
 */
export class CallLimit {
  #total = 0;
  readonly #byConnection = new Map<string, number>();
  readonly #byClient = new Map<string, number>();
  /** Calls refused so far, by the bound that refused them (for metrics). */
  readonly refused = { max_calls: 0, max_calls_per_connection: 0, max_calls_per_client: 0 };

  constructor(readonly limits: CallLimits = {}) {}

  /**
   * A function that ends the call (once, however often called), or the refusal's message.
   * `client`: the call's client key (client-key.ts), counted only with maxCallsPerClient.
   */
  enter(connection: string, client?: string): (() => void) | string {
    const { maxCalls, maxCallsPerConnection, maxCallsPerClient } = this.limits;
    if (maxCalls !== undefined && this.#total >= maxCalls) {
      this.refused.max_calls++;
      return `too many calls in flight on this server (limit ${maxCalls}, --max-calls)`;
    }
    const n = this.#byConnection.get(connection) ?? 0;
    if (maxCallsPerConnection !== undefined && n >= maxCallsPerConnection) {
      this.refused.max_calls_per_connection++;
      return `too many concurrent calls from this connection (limit ${maxCallsPerConnection}, --max-calls-per-connection)`;
    }
    const perClient = maxCallsPerClient !== undefined && client !== undefined ? client : undefined;
    if (perClient !== undefined) {
      const m = this.#byClient.get(perClient) ?? 0;
      if (m >= maxCallsPerClient!) {
        this.refused.max_calls_per_client++;
        const who = perClient.startsWith("name:") ? `client "${perClient.slice(5)}"` : "client connection";
        return `too many calls in flight or waiting from this ${who} (limit ${maxCallsPerClient}, --max-calls-per-client)`;
      }
      this.#byClient.set(perClient, m + 1);
    }
    this.#total++;
    this.#byConnection.set(connection, n + 1);
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      this.#total--;
      const left = (this.#byConnection.get(connection) ?? 1) - 1;
      if (left <= 0) this.#byConnection.delete(connection);
      else this.#byConnection.set(connection, left);
      if (perClient === undefined) return;
      const leftOfClient = (this.#byClient.get(perClient) ?? 1) - 1;
      if (leftOfClient <= 0) this.#byClient.delete(perClient);
      else this.#byClient.set(perClient, leftOfClient);
    };
  }

  /** Calls counted now. */
  get inFlight(): number {
    return this.#total;
  }
}
