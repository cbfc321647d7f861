/** A task waiting for a worker thread: started once, or dropped if its caller gave up first. */
export interface Waiting {
  start(): void;
  /** The caller gave up (aborted): skipped when its turn comes. */
  dropped: boolean;
}

/** Who a task is for and how urgent it is within that client's own work. */
export interface WaitingFor {
  /** The client's key (client-key.ts): its connection, or the name it gave itself. "" for in-process work. */
  client?: string;
  /** Higher first, within the client's own tasks only (default 0). */
  priority?: number;
}

export interface FairQueueOptions {
  /**
   * Aging: a task passed over by higher priorities becomes due once it has waited this many times
   * the mean run time of a task (measured); due tasks go first, oldest first. Default 8.
   */
  maxPriorityWaitFactor?: number;
  /** The clock, in milliseconds (for tests). */
  now?: () => number;
}

export const defaultMaxPriorityWaitFactor = 8;

interface Entry {
  task: Waiting;
  at: number;
}

/** Tasks of one kind and one priority, in arrival order; dropped ones are skipped when reached. */
class Fifo {
  items: Entry[] = [];
  head = 0;

  /** The first task not dropped (it stays queued), or undefined. */
  peek(): Entry | undefined {
    while (this.head < this.items.length && this.items[this.head]!.task.dropped) this.shift();
    return this.items[this.head];
  }

  shift(): Entry {
    const entry = this.items[this.head]!;
    this.items[this.head++] = undefined as never;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return entry;
  }

  get size(): number {
    return this.items.length - this.head;
  }
}

/** One client's waiting tasks: by kind, then by priority. */
interface ClientQueue {
  kinds: Map<string, Map<number, Fifo>>;
  /** The kind that had the client's last turn: its kinds take turns after it. */
  lastKind: string;
  /** When the client last had a turn (a sequence number): the least recently served goes next. */
  served: number;
  /** Its tasks running now: the client is remembered while it has some running or waiting. */
  running: number;
}

/**
 * Who runs next on the worker threads, in two levels. Clients take turns (the one served least
 * recently goes next), so one client's backlog of a thousand tasks delays another's single call by
 * about one task. Within a client, its kinds of work (a module's export, i.e. a method's work)
 * take turns, and its priorities order them: the highest first, except that a task that has waited
 * `maxPriorityWaitFactor` times the mean task time is due and goes before any priority (aging, so
 * low priorities are not starved). A kind with nothing running may also start beyond the threads,
 * on one of as many spare threads: long work already holding every thread cannot keep other calls
 * from starting (the operating system shares the cores among them). Dropping a waiting task is
 * O(1) (it is skipped later), so a cancelled batch costs what it runs, not what it queued.
 */
export class FairQueue {
  readonly #clients = new Map<string, ClientQueue>();
  readonly #running = new Map<string, number>();
  readonly #factor: number;
  readonly #now: () => number;
  #total = 0;
  #waiting = 0;
  #turns = 0;
  /** Mean run time of a task (exponentially weighted), undefined until one was measured. */
  #meanMs: number | undefined;
  /** Some client's queue emptied: forget those with nothing running too. */
  #emptied = false;

  /**
   * @param threads tasks that run at once in the normal course
   * @param spare extra tasks at once, each of a kind that had none running
   */
  constructor(
    readonly threads: number,
    readonly spare: number,
    options: FairQueueOptions = {},
  ) {
    this.#factor = options.maxPriorityWaitFactor ?? defaultMaxPriorityWaitFactor;
    this.#now = options.now ?? Date.now;
  }

  /** Starts the task now if it may, else queues it; `done` must be called once it settles. */
  add(kind: string, task: Waiting, who: WaitingFor = {}): void {
    const key = who.client ?? "";
    const priority = who.priority ?? 0;
    let client = this.#clients.get(key);
    if (!client) {
      // A client new to the turns goes before those already served (served 0).
      client = { kinds: new Map(), lastKind: "", served: 0, running: 0 };
      this.#clients.set(key, client);
    }
    if (client.kinds.size === 0 && this.#mayStart(kind)) {
      this.#start(client, kind, task);
      return;
    }
    let byPriority = client.kinds.get(kind);
    if (!byPriority) client.kinds.set(kind, (byPriority = new Map()));
    let fifo = byPriority.get(priority);
    if (!fifo) byPriority.set(priority, (fifo = new Fifo()));
    fifo.items.push({ task, at: this.#now() });
    this.#waiting++;
    // Its client's queue may hold only dropped tasks, with threads free.
    this.#dispatch();
  }

  /**
   * A task of `kind` for `client` settled after running `ranMs` (for aging's mean): its thread
   * goes to the next in turn.
   */
  done(kind: string, ranMs?: number, client = ""): void {
    this.#total--;
    const left = (this.#running.get(kind) ?? 1) - 1;
    if (left <= 0) this.#running.delete(kind);
    else this.#running.set(kind, left);
    const entry = this.#clients.get(client);
    if (entry) {
      entry.running--;
      if (entry.running <= 0 && entry.kinds.size === 0) this.#clients.delete(client);
    }
    if (ranMs !== undefined && Number.isFinite(ranMs) && ranMs >= 0)
      this.#meanMs = this.#meanMs === undefined ? ranMs : this.#meanMs * 0.8 + ranMs * 0.2;
    this.#dispatch();
  }

  /** Tasks running now. */
  get running(): number {
    return this.#total;
  }

  /** Tasks waiting now, by kind (those dropped by their callers left out): read by metrics on a scrape. */
  waiting(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const client of this.#clients.values())
      for (const [kind, byPriority] of client.kinds) {
        let n = 0;
        for (const fifo of byPriority.values())
          for (let i = fifo.head; i < fifo.items.length; i++) if (!fifo.items[i]!.task.dropped) n++;
        if (n > 0) counts.set(kind, (counts.get(kind) ?? 0) + n);
      }
    return counts;
  }

  /** Tasks waiting for a thread (those dropped but not yet skipped included): for StatsService, in O(1). */
  get waitingTotal(): number {
    return this.#waiting;
  }

  /** Clients with tasks waiting now. */
  get clients(): number {
    let n = 0;
    for (const client of this.#clients.values()) if (client.kinds.size > 0) n++;
    return n;
  }

  #mayStart(kind: string): boolean {
    if (this.#total < this.threads) return true;
    return this.#total < this.threads + this.spare && !this.#running.has(kind);
  }

  #start(client: ClientQueue, kind: string, task: Waiting): void {
    client.served = ++this.#turns;
    client.running++;
    this.#total++;
    this.#running.set(kind, (this.#running.get(kind) ?? 0) + 1);
    task.start();
  }

  #dispatch(): void {
    // Every thread and spare taken: nothing can start, whoever waits (an add to a long queue is O(1)).
    while (this.#total < this.threads + this.spare) {
      // The clients in turn: the least recently served first (a new one before all others).
      const order = [...this.#clients.values()].filter((c) => c.kinds.size > 0);
      if (order.length === 0) break;
      order.sort((a, b) => a.served - b.served);
      let started = false;
      for (const client of order) {
        const picked = this.#pick(client);
        if (!picked) continue;
        const { kind, fifo } = picked;
        const { task } = fifo.shift();
        this.#waiting--;
        this.#prune(client, kind);
        client.lastKind = kind;
        this.#start(client, kind, task);
        started = true;
        break;
      }
      if (!started) break;
    }
    this.#forgetIdle();
  }

  /** Forgets the clients left with nothing waiting (their dropped tasks skipped) and nothing running. */
  #forgetIdle(): void {
    if (!this.#emptied) return;
    this.#emptied = false;
    for (const [key, client] of this.#clients)
      if (client.kinds.size === 0 && client.running <= 0) this.#clients.delete(key);
  }

  /**
   * The client's next task among the kinds that may start: the oldest due one, else the highest
   * priority, its kinds taking turns after the one last served.
   */
  #pick(client: ClientQueue): { kind: string; fifo: Fifo } | undefined {
    const dueBefore = this.#meanMs === undefined ? -Infinity : this.#now() - this.#factor * this.#meanMs;
    const kinds = [...client.kinds.keys()];
    const last = kinds.indexOf(client.lastKind);
    let best: { kind: string; fifo: Fifo; priority: number; at: number; due: boolean } | undefined;
    for (let i = 0; i < kinds.length; i++) {
      const kind = kinds[(last + 1 + i) % kinds.length]!;
      const byPriority = client.kinds.get(kind)!;
      for (const [priority, fifo] of byPriority) {
        const before = fifo.size;
        const head = fifo.peek();
        this.#waiting -= before - fifo.size;
        if (!head) continue;
        if (!this.#mayStart(kind)) continue;
        const due = head.at <= dueBefore;
        const better = !best
          ? true
          : due || best.due
            ? due && (!best.due || head.at < best.at)
            : priority > best.priority;
        if (better) best = { kind, fifo, priority, at: head.at, due };
      }
      this.#prune(client, kind);
    }
    return best;
  }

  /** Forgets a kind's empty priorities, and the kind when none is left. */
  #prune(client: ClientQueue, kind: string): void {
    const byPriority = client.kinds.get(kind);
    if (!byPriority) return;
    for (const [priority, fifo] of byPriority) {
      if (fifo.size === 0) byPriority.delete(priority);
    }
    if (byPriority.size === 0) client.kinds.delete(kind);
    if (client.kinds.size === 0) this.#emptied = true;
  }
}
