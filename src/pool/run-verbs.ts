import type { Outcome, RunOptions } from "./outcome.js";

export type Inputs<I> = Iterable<I> | AsyncIterable<I>;

/**
 * Where a run's outcomes come from: a pool's task function, or a service's method (called one
 * by one, or in batches). The run verbs below are written once over it, for Pool and the
 * service client alike.
 */
export interface OutcomeSource<I, R, O extends RunOptions = RunOptions> {
  /** Every outcome, in input order, once all have settled. */
  settled(inputs: Inputs<I>, options: O): Promise<Outcome<R>[]>;
  /** Outcomes in input order as each is next in line, or as they complete; bounded read-ahead. */
  streamed(inputs: Inputs<I>, options: O, order: "input" | "completion"): AsyncGenerator<Outcome<R>>;
}

/** One input on the least busy server, moved to another if its server fails (as a map of one, with no limit per server). */
export async function applyOne<I, R, O extends RunOptions>(
  source: OutcomeSource<I, R, O>,
  input: I,
  options: O,
): Promise<R> {
  const [outcome] = await source.settled([input], {
    ...options,
    perServer: options.perServer ?? Number.POSITIVE_INFINITY,
  });
  if (!outcome!.ok) throw outcome!.error;
  return outcome!.value;
}

/** Every input's result, in input order; throws the first failure. */
export async function mapValues<I, R, O extends RunOptions>(
  source: OutcomeSource<I, R, O>,
  inputs: Inputs<I>,
  options: O,
): Promise<R[]> {
  return valuesOf(await source.settled(inputs, options));
}

/** Every outcome, success or failure, in input order. */
export function mapSettled<I, R, O extends RunOptions>(
  source: OutcomeSource<I, R, O>,
  inputs: Inputs<I>,
  options: O,
): Promise<Outcome<R>[]> {
  return source.settled(inputs, options);
}

/** Results in input order as they become ready (Pool.imap), in bounded memory; throws at the first failure. */
export async function* imapValues<I, R, O extends RunOptions>(
  source: OutcomeSource<I, R, O>,
  inputs: Inputs<I>,
  options: O,
): AsyncGenerator<R> {
  for await (const outcome of source.streamed(inputs, options, "input")) {
    if (!outcome.ok) throw outcome.error;
    yield outcome.value;
  }
}

/** Outcomes as they complete (Dask's as_completed, Pool.imap_unordered), in bounded memory. */
export function asCompleted<I, R, O extends RunOptions>(
  source: OutcomeSource<I, R, O>,
  inputs: Inputs<I>,
  options: O,
): AsyncGenerator<Outcome<R>> {
  return source.streamed(inputs, options, "completion");
}

/** The values of outcomes; throws the first failure. */
export function valuesOf<R>(outcomes: readonly Outcome<R>[]): R[] {
  return outcomes.map((outcome) => {
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  });
}
