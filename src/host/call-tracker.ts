/** Counts calls in flight, for Info and for draining on shutdown. */
export class CallTracker {
  #inFlight = 0;
  #total = 0;
  #idle: Array<() => void> = [];

  get inFlight(): number {
    return this.#inFlight;
  }

  get total(): number {
    return this.#total;
  }

  /** Returns the function that ends the call; calling it twice counts once. */
  enter(): () => void {
    this.#inFlight++;
    this.#total++;
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      this.#inFlight--;
      if (this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
    };
  }

  /** Resolves when no call is in flight. */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
