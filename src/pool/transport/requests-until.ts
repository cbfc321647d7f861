/**
 * The requests of a client-streaming call, read until the call has ended: a source that waits
 * (for input that never comes) must not hold the caller once the reply, a deadline or a
 * cancellation has ended the call. The source is then told to stop (its `return`), not awaited.
 */
export async function* requestsUntil<T>(
  requests: AsyncIterable<T> | Iterable<T>,
  ended: Promise<unknown>,
): AsyncGenerator<T> {
  const source =
    Symbol.asyncIterator in requests
      ? (requests as AsyncIterable<T>)[Symbol.asyncIterator]()
      : (requests as Iterable<T>)[Symbol.iterator]();
  const over = ended.then(
    () => done,
    () => done,
  );
  let finished = false;
  try {
    for (;;) {
      const pending = Promise.resolve(source.next());
      // Left pending when the call ends first: its failure is nobody's.
      pending.catch(() => {});
      const next = await Promise.race([pending, over]);
      if (typeof next === "symbol") return;
      if (next.done) {
        finished = true;
        return;
      }
      yield next.value;
    }
  } catch (error) {
    finished = true;
    throw error;
  } finally {
    // A source left early is closed; a pending read of it is not waited for.
    if (!finished) void Promise.resolve(source.return?.()).catch(() => {});
  }
}

const done: unique symbol = Symbol("call ended");
