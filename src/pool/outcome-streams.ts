import { ClientError } from "../rpc/client-error.js";
import { Status as status } from "../rpc/grpc-status.js";
import type { Outcome, TaskFn } from "./outcome.js";
import type { TaskEngine } from "./task-engine.js";
import type { Run, RunSettings } from "./task-run.js";

type Inputs<I> = Iterable<I> | AsyncIterable<I>;

/** Every outcome, in input order, once all have settled (the inputs are read as fast as they come). */
export async function settledInOrder<I, R>(
  engine: TaskEngine,
  inputs: Inputs<I>,
  fn: TaskFn<I, R>,
  settings: RunSettings,
): Promise<Outcome<R>[]> {
  const outcomes: Outcome<R>[] = [];
  const run = engine.start(fn, settings, (outcome) => {
    outcomes[outcome.index] = outcome;
  });
  await run.feed(inputs, Number.POSITIVE_INFINITY);
  await run.done;
  if (run.inputsFailed) throw run.inputsFailed.error;
  return outcomes;
}

/**
 * Outcomes as they settle (Dask's as_completed, Pool.imap_unordered), with at most `window`
 * inputs read ahead of what the consumer has taken. Leaving the loop early cancels the rest.
 */
export async function* settledAsCompleted<I, R>(
  engine: TaskEngine,
  inputs: Inputs<I>,
  fn: TaskFn<I, R>,
  settings: RunSettings,
  window: number,
): AsyncGenerator<Outcome<R>> {
  const buffer: Outcome<R>[] = [];
  let wake: (() => void) | undefined;
  const run = engine.start(fn, settings, (outcome) => {
    buffer.push(outcome);
    wake?.();
  });
  const feeding = run.feed(inputs, window);
  run.done.then(() => wake?.());
  try {
    for (;;) {
      while (buffer.length > 0) {
        const outcome = buffer.shift()!;
        run.take();
        throwIfInputsFailed(run, outcome);
        yield outcome;
      }
      if (run.finished) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
    await feeding;
    if (run.inputsFailed) throw run.inputsFailed.error;
  } finally {
    if (!run.finished) run.abort(stopped());
  }
}

/**
 * Outcomes in input order as soon as each is next in line (Pool.imap), with at most `window`
 * inputs between the oldest one not yet yielded and the newest read.
 */
export async function* settledInOrderStream<I, R>(
  engine: TaskEngine,
  inputs: Inputs<I>,
  fn: TaskFn<I, R>,
  settings: RunSettings,
  window: number,
): AsyncGenerator<Outcome<R>> {
  const ready = new Map<number, Outcome<R>>();
  let next = 0;
  let wake: (() => void) | undefined;
  const run = engine.start(fn, settings, (outcome) => {
    ready.set(outcome.index, outcome);
    if (outcome.index === next) wake?.();
  });
  const feeding = run.feed(inputs, window);
  run.done.then(() => wake?.());
  try {
    for (;;) {
      for (let outcome = ready.get(next); outcome; outcome = ready.get(next)) {
        ready.delete(next++);
        run.take();
        throwIfInputsFailed(run, outcome);
        yield outcome;
      }
      if (run.finished && !ready.has(next)) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
    await feeding;
    if (run.inputsFailed) throw run.inputsFailed.error;
  } finally {
    if (!run.finished) run.abort(stopped());
  }
}

/** A task ended by the inputs' failure is not an outcome of its own: the inputs' error is thrown instead. */
function throwIfInputsFailed<I, R>(run: Run<I, R>, outcome: Outcome<R>): void {
  if (run.inputsFailed && !outcome.ok && outcome.error === run.aborted) throw run.inputsFailed.error;
}

function stopped(): ClientError {
  return new ClientError(status.CANCELLED, "the caller stopped iterating");
}
