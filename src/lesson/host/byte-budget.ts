/**
 * One server-wide count of the bytes table calls hold outside the piece slots (the end of a line
 * still waiting for its newline). Each call is bounded by --max-line-bytes, but a thousand calls
 * each holding a long line would still outgrow a pod's memory: they all draw on this budget, and
 * a call that would take it past its cap is refused instead (RESOURCE_EXHAUSTED).
 */
export class ByteBudget {
  #held = 0;

  constructor(readonly capBytes: number) {}

  /** Takes `bytes` from the budget; false (and nothing taken) when that would pass the cap. */
  take(bytes: number): boolean {
    if (this.#held + bytes > this.capBytes) return false;
    this.#held += bytes;
    return true;
  }

  give(bytes: number): void {
    this.#held = Math.max(0, this.#held - bytes);
  }

  /** Bytes held now (for tests and Info). */
  get held(): number {
    return this.#held;
  }
}
