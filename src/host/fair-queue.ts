/** A task waiting for a worker thread: started once, or dropped if its caller gave up first. */
export interface Waiting {
  start(): void;
  /** The caller gave up (aborted): skipped when its turn comes. */
  dropped: boolean;
}

/**
 * Who runs next on the worker threads: tasks wait per kind (a module's export, i.e. a method's
 * work), and the kinds take turns, so a thousand queued spins do not stand before one table piece.
 * A kind with nothing running may also start beyond the threads, on one of as many spare threads:
 * long work already holding every thread cannot keep other calls from starting (the operating
 * system shares the cores among them). Dropping a waiting task is O(1) (it is skipped later), so
 * a cancelled batch costs what it runs, not what it queued.
 */
export class FairQueue {
  readonly #queues = new Map<string, { items: Waiting[]; head: number }>();
  readonly #running = new Map<string, number>();
  #total = 0;
  #turn = 0;

  /**
   * @param threads tasks that run at once in the normal course
   * @param spare extra tasks at once, each of a kind that had none running
   */
  constructor(
    readonly threads: number,
    readonly spare: number,
  ) {}

  /** Starts the task now if it may, else queues it; `done` must be called once it settles. */
  add(kind: string, task: Waiting): void {
    const queue = this.#queues.get(kind);
    if (!queue && this.#mayStart(kind)) {
      this.#start(kind, task);
      return;
    }
    if (queue) queue.items.push(task);
    else this.#queues.set(kind, { items: [task], head: 0 });
    // Its kind's queue may hold only dropped tasks, with threads free.
    this.#dispatch();
  }

  /** A task of `kind` settled: its thread goes to the next kind in turn that may start. */
  done(kind: string): void {
    this.#total--;
    const left = (this.#running.get(kind) ?? 1) - 1;
    if (left <= 0) this.#running.delete(kind);
    else this.#running.set(kind, left);
    this.#dispatch();
  }

  /** Tasks running now. */
  get running(): number {
    return this.#total;
  }

  /** Tasks waiting now, by kind (those dropped by their callers left out): read by metrics on a scrape. */
  waiting(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [kind, queue] of this.#queues) {
      let n = 0;
      for (let i = queue.head; i < queue.items.length; i++) if (!queue.items[i]!.dropped) n++;
      if (n > 0) counts.set(kind, n);
    }
    return counts;
  }

  /** Tasks waiting for a thread (those dropped but not yet skipped included): for StatsService, in O(kinds). */
  get waitingTotal(): number {
    let n = 0;
    for (const queue of this.#queues.values()) n += queue.items.length - queue.head;
    return n;
  }

  #mayStart(kind: string): boolean {
    if (this.#total < this.threads) return true;
    return this.#total < this.threads + this.spare && !this.#running.has(kind);
  }

  #start(kind: string, task: Waiting): void {
    this.#total++;
    this.#running.set(kind, (this.#running.get(kind) ?? 0) + 1);
    task.start();
  }

  #dispatch(): void {
    for (;;) {
      const kinds = [...this.#queues.keys()];
      if (kinds.length === 0) return;
      let started = false;
      for (let i = 0; i < kinds.length; i++) {
        const kind = kinds[(this.#turn + i) % kinds.length]!;
        if (!this.#mayStart(kind)) continue;
        const task = this.#next(kind);
        if (!task) continue;
        this.#turn = (this.#turn + i + 1) % Math.max(1, kinds.length);
        this.#start(kind, task);
        started = true;
        break;
      }
      if (!started) return;
    }
  }

  /** The kind's next task not dropped; the kind leaves the turns once it has none. */
  #next(kind: string): Waiting | undefined {
    const queue = this.#queues.get(kind)!;
    while (queue.head < queue.items.length) {
      const task = queue.items[queue.head]!;
      queue.items[queue.head++] = undefined as never;
      if (queue.head > 1024 && queue.head * 2 > queue.items.length) {
        queue.items = queue.items.slice(queue.head);
        queue.head = 0;
      }
      if (!task.dropped) {
        if (queue.head >= queue.items.length) this.#queues.delete(kind);
        return task;
      }
    }
    this.#queues.delete(kind);
    return undefined;
  }
}
