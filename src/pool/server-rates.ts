/**
 * How fast each server of a pool works, as this client measured it, and the two rules the task
 * engine takes from it: the server that finishes a task clearly sooner first (`sooner`), and no
 * last tasks to a slow server (`holdBack`) (docs/scheduling.md, "Servers of different speed").
 *
 * A sample is a finished task's weight (what the run's `weight` says of its input: a table part's
 * bytes) over its time, times the calls the server had in flight meanwhile (the average of at its
 * start and at its end): the server's throughput, whether one call used all its worker threads or
 * several shared them. Samples are smoothed (EWMA) so one slow call (a GC pause, a neighbour's
 * burst) moves the estimate only part of the way.
 */

/** Weight of the newest sample in the average: about the last five tasks count. */
const smoothing = 0.3;

/**
 * What rates are kept apart by: whether tasks are weighed (bytes) or counted, and their method
 * when the run knows it. A sleep's rate says nothing of a sum's.
 */
export function rateUnit(weighted: boolean, method?: string): string {
  return `${weighted ? "weight" : "tasks"} ${method ?? ""}`;
}

/** What the engine and the split planning read of a server's measured speed. */
export interface RateView {
  /** Weight units per millisecond the server gets through, all its calls together; undefined before a sample. */
  throughputOf(unit: string): number | undefined;
}

/** One server's measured rates (one per unit) and its tasks in flight (when each started, how long it should take). */
export class ServerRate implements RateView {
  readonly #throughput = new Map<string, number>();
  samples = 0;
  readonly #running = new Map<object, { startedAt: number; expectedMs: number }>();

  throughputOf(unit: string): number | undefined {
    return this.#throughput.get(unit);
  }

  /** Expected milliseconds of a task of `weight` started now as the `concurrent`-th call in flight. */
  expectedMs(unit: string, weight: number, concurrent: number): number | undefined {
    const throughput = this.#throughput.get(unit);
    return throughput === undefined ? undefined : (weight * concurrent) / throughput;
  }

  /** A task starts: `concurrent` counts the calls in flight on the server with it. */
  started(token: object, unit: string, weight: number, concurrent: number, now = Date.now()): void {
    this.#running.set(token, { startedAt: now, expectedMs: this.expectedMs(unit, weight, concurrent) ?? 0 });
  }

  /** A task ended. Only a success is a sample: a failure's time says nothing of speed. */
  finished(token: object, sample?: { unit: string; weight: number; concurrent: number }, now = Date.now()) {
    const run = this.#running.get(token);
    this.#running.delete(token);
    if (!run || !sample || sample.weight <= 0) return;
    const ms = Math.max(1, now - run.startedAt);
    const value = (sample.weight / ms) * Math.max(1, sample.concurrent);
    const before = this.#throughput.get(sample.unit);
    this.#throughput.set(sample.unit, before === undefined ? value : before + smoothing * (value - before));
    this.samples++;
  }

  /** Milliseconds until the first of its calls in flight should end (0 when one is overdue or none runs). */
  freeInMs(now = Date.now()): number {
    let first = Number.POSITIVE_INFINITY;
    for (const run of this.#running.values()) first = Math.min(first, run.startedAt + run.expectedMs - now);
    return first === Number.POSITIVE_INFINITY ? 0 : Math.max(0, first);
  }
}

/** How much sooner another server must finish a task for a slower one to leave it to it. */
const clearlyFaster = 1.5;

/** A server as `holdBack` sees it. */
export interface RatedServer {
  readonly rate: ServerRate;
  /** Calls this client has in flight on it. */
  readonly inFlight: number;
  /** Calls the run may have in flight on it at most. */
  readonly limit: number;
}

/**
 * Whether a task of `weight` should wait for faster servers instead of starting on `slow` now: it
 * does when the servers that would finish a task sooner can get through everything still queued
 * (`queued`, this task included) before `slow` would finish this one. So a slow server takes work
 * while there is plenty, and is not handed the last tasks, which it would still hold when the
 * others are done. Without measurements on every server concerned, nothing waits (the engine's
 * least-loaded rule decides, as before).
 */
export function holdBack(
  slow: RatedServer,
  others: readonly RatedServer[],
  queued: number,
  weight: number,
  unit: string,
  now = Date.now(),
): boolean {
  const mine = slow.rate.expectedMs(unit, weight, slow.inFlight + 1);
  if (mine === undefined) return false;
  let capacity = 0;
  for (const other of others) {
    if (other === slow) continue;
    // At saturation each of its `limit` slots takes this long per task.
    const each = other.rate.expectedMs(unit, weight, Math.max(1, other.limit));
    if (each === undefined) return false;
    if (each >= mine) continue;
    const full = other.inFlight >= other.limit;
    const wait = full ? other.rate.freeInMs(now) : 0;
    // Only a clearly faster server is waited for: servers of about the same speed, told apart by
    // noise in their samples, all keep taking work.
    if ((wait + each) * clearlyFaster >= mine) continue;
    // Tasks it can still start and finish within `mine`: a full server's turns once a slot
    // frees, or a free one's turns less the calls already occupying its slots.
    const turns = Math.floor((other.limit * (mine - wait)) / each);
    capacity += Math.max(0, full ? turns : turns - other.inFlight);
    if (capacity >= queued) return true;
  }
  return false;
}

/**
 * Each server's share of the work, for planning a split before any task runs: its measured
 * throughput when every server has one, else its worker threads (the pool's prior: a server
 * started with --workers 1 is taken as a quarter of one with --workers 4).
 */
export function relativeSpeeds(
  servers: ReadonlyArray<{
    readonly rate?: RateView;
    readonly info?: { readonly workers: number } | undefined;
  }>,
  unit = rateUnit(true),
): number[] {
  const measured = servers.map((s) => s.rate?.throughputOf(unit));
  if (measured.every((t): t is number => t !== undefined && t > 0)) return measured;
  return servers.map((s) => Math.max(1, s.info?.workers ?? 1));
}

/**
 * Whether `a` should get the next task before `b` (both have a free slot): the one that would
 * finish it clearly first by their measured rates, else (about the same speed, or a server not
 * measured yet) the less loaded, as the engine always did.
 */
export function sooner(
  a: RatedServer & { readonly load: number },
  b: RatedServer & { readonly load: number },
  unit: string,
): boolean {
  const onA = a.rate.expectedMs(unit, 1, a.inFlight + 1);
  const onB = b.rate.expectedMs(unit, 1, b.inFlight + 1);
  if (onA !== undefined && onB !== undefined) {
    if (onA * clearlyFaster < onB) return true;
    if (onB * clearlyFaster < onA) return false;
  }
  return a.load < b.load;
}
