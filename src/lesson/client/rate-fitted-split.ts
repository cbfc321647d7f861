import { autoSplitMinPart } from "./split-plan.js";

/** What one more call costs, in bytes of table it could have parsed meanwhile (as split-plan.ts guesses). */
const callCostBytes = 1 << 20;

/** Speeds this close (fastest over slowest) are equal for planning: the even plan is kept. */
export const unevenSpeeds = 1.25;

/**
 * `--split auto` when the servers differ in speed (docs/scheduling.md, "Servers of different
 * speed"): each file's part size (undefined: whole), fitted so that every server finishes about
 * together. The slowest server's fair share of the bytes (total x its speed / all speeds) sets
 * the grain: parts of that share, or of a half or a third of it, are tried, and the plan whose
 * schedule (each part, largest first, to the server that would finish it first) ends soonest is
 * taken, provided it beats sending the files whole. No part is under 8 MiB, as in the even
 * plan; but files from 16 MiB may be cut (the even plan leaves files under 32 MiB whole): with
 * uneven servers, a whole file on the slow one costs more than a call. `speeds` are relative (bytes per unit of time).
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
  let best: { span: number; cut: Array<number | undefined> } = {
    span: fittedSpan(sizes, speeds),
    cut: whole,
  };
  const wholeSpan = best.span;
  for (const grain of [1, 2, 3]) {
    const target = Math.max(autoSplitMinPart, Math.ceil(share / grain));
    const cut = sizes.map((size) =>
      size < 2 * autoSplitMinPart || size <= target ? undefined : Math.ceil(size / Math.ceil(size / target)),
    );
    const span = fittedSpan(
      sizes.flatMap((size, i) => {
        const part = cut[i];
        if (part === undefined) return [size];
        const n = Math.ceil(size / part);
        return Array(n).fill(size / n);
      }),
      speeds,
    );
    if (span < best.span) best = { span, cut };
  }
  // No 5% margin here (the even plan has one): a whole file on the slow server is the costly
  // mistake, and the schedule above is the best case for whole files (the engine may well give
  // the slow server a whole file at the start, when the queue is long).
  return best.span < wholeSpan ? best.cut : whole;
}

/**
 * When the last server finishes, tasks placed largest first each on the server that would finish
 * it soonest (list scheduling on machines of different speeds); a call's cost counts as bytes.
 */
export function fittedSpan(tasks: readonly number[], speeds: readonly number[]): number {
  const ends = speeds.map(() => 0);
  for (const task of [...tasks].sort((a, b) => b - a)) {
    let first = 0;
    let firstEnd = Number.POSITIVE_INFINITY;
    for (let i = 0; i < speeds.length; i++) {
      const end = ends[i]! + (task + callCostBytes) / speeds[i]!;
      if (end < firstEnd) {
        first = i;
        firstEnd = end;
      }
    }
    ends[first] = firstEnd;
  }
  return Math.max(...ends);
}

/** Whether the speeds differ enough to fit parts to them. */
export function speedsDiffer(speeds: readonly number[]): boolean {
  if (speeds.length < 2) return false;
  return Math.max(...speeds) > unevenSpeeds * Math.min(...speeds);
}
