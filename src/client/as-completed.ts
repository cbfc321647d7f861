import type { Outcome } from "./scheduler.js";

/**
 * Turns a run that reports outcomes one by one into an async iterable of them in completion order
 * (Dask's as_completed, Pool.imap_unordered). Breaking out of the loop aborts the run.
 */
export async function* asCompletedOutcomes<R>(
  start: (onOutcome: (outcome: Outcome<R>) => void, signal: AbortSignal) => Promise<unknown>,
  signal?: AbortSignal,
): AsyncGenerator<Outcome<R>> {
  const queue: Outcome<R>[] = [];
  let wake: (() => void) | undefined;
  let finished = false;
  let failure: unknown;
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  start((outcome) => {
    queue.push(outcome);
    wake?.();
  }, controller.signal).then(
    () => {
      finished = true;
      wake?.();
    },
    (error) => {
      failure = error;
      finished = true;
      wake?.();
    },
  );
  try {
    for (;;) {
      while (queue.length > 0) yield queue.shift()!;
      if (finished) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
    if (failure) throw failure;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    if (!finished) controller.abort(new DOMException("iteration stopped", "AbortError"));
  }
}
