import type { ServerConnection } from "./server-connection.js";
import type { Run } from "./task-run.js";

/** The priorities' aging on the client, as on the servers' worker threads (docs/scheduling.md). */
export const defaultMaxPriorityWaitFactor = 8;

type AnyRun = Run<unknown, unknown>;

/**
 * Which of a pool's runs dispatches first: each run has a priority (RunOptions.priority, higher
 * first, default 0). The engine asks runs in this order, and a run yields a server to a run of
 * higher priority that is using it and has more queued for it, so a server's slots go to the
 * urgent run as they free. Runs of equal priority share as before (each its own per-server
 * budget). Aging bounds starvation: a run held back for `factor` times the mean task time (from
 * its last start) is due, and goes first, whatever the priorities.
 */
export class RunPriorities {
  /** When each run with queued work last started a task (or first waited). */
  readonly #since = new WeakMap<AnyRun, number>();
  /** Mean time of a task, start to settle (exponentially weighted); undefined until one settled. */
  #meanMs: number | undefined;
  /** Whether the runs last ordered had different priorities (else none outranks another). */
  #mixed = true;

  /** Aging: a run held back this many mean task times is due (ConnectOptions.maxPriorityWaitFactor). */
  constructor(public factor = defaultMaxPriorityWaitFactor) {}

  /** The runs in the order they dispatch: due ones first, then by priority (insertion order among equals). */
  order(runs: Iterable<AnyRun>, now: number): AnyRun[] {
    const list = [...runs];
    // A run with nothing queued is not waiting: its wait starts when work comes.
    for (const run of list) if (run.queued === 0) this.#since.set(run, now);
    // The common case, every run at the default: nothing to order, nobody yields (O(1) per server asked).
    this.#mixed = list.some((run) => (run.settings.priority ?? 0) !== 0);
    if (!this.#mixed) return list;
    return list
      .map((run, i) => ({ run, i, rank: this.#rank(run, now) }))
      .sort((a, b) => b.rank - a.rank || a.i - b.i)
      .map((entry) => entry.run);
  }

  /**
   * Whether `run` should leave `server` to a run that outranks it: one using the server now with
   * more queued, which the server's next free slot should go to.
   */
  outranked(run: AnyRun, server: ServerConnection, runs: Iterable<AnyRun>, now: number): boolean {
    if (!this.#mixed) return false;
    const rank = this.#rank(run, now);
    for (const other of runs) {
      if (other === run || other.aborted || other.queued === 0) continue;
      if ((other.busy.get(server) ?? 0) === 0) continue;
      if (this.#rank(other, now) > rank) return true;
    }
    return false;
  }

  /** `run` started a task: its wait starts again. */
  started(run: AnyRun, now: number): void {
    this.#since.set(run, now);
  }

  /** A task settled after `ms`: the mean that aging counts in. */
  settled(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.#meanMs = this.#meanMs === undefined ? ms : this.#meanMs * 0.8 + ms * 0.2;
  }

  #rank(run: AnyRun, now: number): number {
    const priority = run.settings.priority ?? 0;
    let since = this.#since.get(run);
    if (since === undefined) {
      since = now;
      this.#since.set(run, now);
    }
    if (this.#meanMs !== undefined && now - since > this.factor * this.#meanMs)
      return Number.POSITIVE_INFINITY;
    return priority;
  }
}
