import { autoSplitMinPart } from "./split-plan.js";

/** What one more call costs, in bytes of table it could have parsed meanwhile (as split-plan.ts guesses). */
const callCostBytes = 1 << 20;

/** Speeds this close (fastest over slowest) are equal for planning: the even plan is kept. */
export const unevenSpeeds = 1.25;

/** Grains tried: parts of the slowest server's fair share, of a half of it, ... of a sixth. */
const grains = [1, 2, 3, 4, 6];

/**
 * `--split auto` when the servers differ in speed (docs/scheduling.md, "Servers of different
 * speed"): each file's part size (undefined: whole), fitted so that every server finishes about
 * together. The slowest server's fair share of the bytes (total x its speed / all speeds) sets
 * the grain: parts of that share, or of a half, a third, a quarter or a sixth of it, are tried,
 * and the plan that ends soonest as the task engine would run it (`engineSpan`: parts in the
 * plan's order, to the server free first, and no last part to a slow server that faster ones
 * would beat) is taken, provided it beats sending the files whole. Finer parts let the slow
 * server's bytes come nearer its share (4 equal files at speeds 4 : 1: whole, the slow one gets
 * a file, 25% over the ideal; in quarters, 3 of 16 parts, 2% over), and each costs a call. No
 * part is under 8 MiB, as in the even plan; but files from 16 MiB may be cut (the even plan
 * leaves files under 32 MiB whole): with uneven servers, a whole file on the slow one costs
 * more than a call. `speeds` are relative (bytes per unit of time).
 */
export function rateFittedPartSizes(
  sizes: readonly number[],
  speeds: readonly number[],
): Array<number | undefined> {
  const whole = sizes.map(() => undefined);
  const total = sizes.reduce((n, size) => n + size, 0);
  const all = speeds.reduce((n, speed) => n + speed, 0);
  if (speeds.length === 0 || total === 0 || all <= 0) return whole;
  const share = (total * Math.min(...speeds)) / all;
  // Each file's part size at each grain (0: whole).
  const atGrain = [0, ...grains].map((grain) => {
    const target =
      grain === 0 ? Number.POSITIVE_INFINITY : Math.max(autoSplitMinPart, Math.ceil(share / grain));
    // As many parts as fit whole targets: a part is never under the target (nor 8 MiB).
    return sizes.map((size) => {
      const count = Math.floor(size / target);
      return count < 2 ? undefined : Math.ceil(size / count);
    });
  });
  // Plans: the files before `k` at one grain, the rest at the same or a finer one (the tail in
  // smaller parts, so the last parts are small and the slow server's bytes come near its share).
  // Where the tail starts: every file with few files, about 32 places with many (planning stays
  // quick: each plan is one simulated run).
  const step = Math.max(1, Math.ceil(sizes.length / 32));
  const plans: Array<{ span: number; parts: number; cut: Array<number | undefined> }> = [];
  for (let coarse = 0; coarse < atGrain.length; coarse++)
    for (let fine = coarse; fine < atGrain.length; fine++)
      for (let k = fine === coarse ? sizes.length : 1; k <= sizes.length; k += step) {
        if (fine !== coarse && k === sizes.length) break;
        const cut = sizes.map((_, i) => (i < k ? atGrain[coarse]! : atGrain[fine]!)[i]);
        const parts = partsInOrder(sizes, cut);
        plans.push({ span: engineSpan(parts, speeds), parts: parts.length, cut });
      }
  // The fewest parts among the plans within 1% of the soonest: each part more is a call, which
  // the model prices only roughly. No 5% margin against whole files (the even plan has one): a
  // whole file on the slow server is the costly mistake.
  const soonest = Math.min(...plans.map((p) => p.span));
  const chosen = plans.filter((p) => p.span <= 1.01 * soonest).reduce((a, b) => (b.parts < a.parts ? b : a));
  return chosen.cut;
}

/** The parts of every file, in the plan's order, as planTableTasks cuts them (equal parts per file). */
export function partsInOrder(sizes: readonly number[], cut: ReadonlyArray<number | undefined>): number[] {
  return sizes.flatMap((size, i) => {
    const part = cut[i];
    if (part === undefined) return [size];
    const n = Math.ceil(size / part);
    return Array(n).fill(size / n);
  });
}

/** How much sooner a server must finish a task for a slower one to leave it to it (as server-rates.ts). */
const clearlyFaster = 1.5;

/**
 * When the last server finishes, tasks run as the task engine runs them once it knows the rates
 * (task-engine.ts with server-rates.ts' `sooner` and `holdBack`): in queue order, one at a time per
 * server, the next to the free server that would finish it first; a slow server leaves a task
 * when the clearly faster ones could get through everything queued before it finished that one.
 * A call's cost counts as bytes.
 */
export function engineSpan(tasks: readonly number[], speeds: readonly number[]): number {
  return engineShares(tasks, speeds).span;
}

/** `engineSpan` and the bytes each server runs. */
export function engineShares(
  tasks: readonly number[],
  speeds: readonly number[],
): { span: number; bytes: number[] } {
  const busyUntil = speeds.map(() => 0);
  const bytes = speeds.map(() => 0);
  const cost = (task: number, i: number) => (task + callCostBytes) / speeds[i]!;
  let next = 0;
  let now = 0;
  while (next < tasks.length) {
    // Free servers, fastest first (the engine's `sooner`).
    const free = speeds.map((_, i) => i).filter((i) => busyUntil[i]! <= now);
    free.sort((a, b) => speeds[b]! - speeds[a]!);
    for (const i of free) {
      if (next >= tasks.length) break;
      const task = tasks[next]!;
      const mine = cost(task, i);
      // holdBack: could the clearly faster servers do all that is queued, this task included, first?
      let capacity = 0;
      for (let j = 0; j < speeds.length; j++) {
        const each = cost(task, j);
        if (j === i || each * clearlyFaster >= mine) continue;
        const wait = Math.max(0, busyUntil[j]! - now);
        if ((wait + each) * clearlyFaster >= mine) continue;
        capacity += Math.max(0, Math.floor((mine - wait) / each));
      }
      if (capacity >= tasks.length - next) continue;
      busyUntil[i] = now + mine;
      bytes[i]! += task;
      next++;
    }
    // On to the next server to free up (one that held back waits for it too).
    const later = busyUntil.filter((t) => t > now);
    if (later.length === 0) break;
    now = Math.min(...later);
  }
  return { span: Math.max(...busyUntil), bytes };
}

/** Whether the speeds differ enough to fit parts to them. */
export function speedsDiffer(speeds: readonly number[]): boolean {
  if (speeds.length < 2) return false;
  return Math.max(...speeds) > unevenSpeeds * Math.min(...speeds);
}
