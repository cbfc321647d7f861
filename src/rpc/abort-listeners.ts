/**
 * One "abort" listener per signal, shared by every waiter on it. A session's calls wait on a few
 * long-lived signals (an object's, a method's call when it calls back many times at once): one
 * listener per call would pass Node's limit of 10 per signal, print MaxListenersExceededWarning
 * under a flood of calls and cost a closure per call on the signal. Here each signal has one
 * listener, removed when its last waiter is gone.
 */
interface Waiters {
  listeners: Set<() => void>;
  hook: () => void;
}

const bySignal = new WeakMap<AbortSignal, Waiters>();

/** Runs `listener` once when `signal` aborts; the returned function unhooks it (idempotent). */
export function onAbort(signal: AbortSignal, listener: () => void): () => void {
  let waiters = bySignal.get(signal);
  if (!waiters) {
    const listeners = new Set<() => void>();
    const hook = () => {
      bySignal.delete(signal);
      for (const waiter of [...listeners]) waiter();
    };
    waiters = { listeners, hook };
    bySignal.set(signal, waiters);
    signal.addEventListener("abort", hook, { once: true });
  }
  // A fresh function per call: the same listener may wait twice.
  const entry = () => listener();
  const mine = waiters;
  mine.listeners.add(entry);
  return () => {
    if (!mine.listeners.delete(entry) || mine.listeners.size > 0) return;
    // The last waiter left: the signal's listener goes too (a new waiter adds a new one).
    if (bySignal.get(signal) === mine) bySignal.delete(signal);
    signal.removeEventListener("abort", mine.hook);
  };
}

/**
 * A signal aborted when either is; `dispose` unhooks it from both. A session's call links its own
 * signal to its object's, which every call of the object waits on: through `onAbort`, one listener.
 */
export function linkedSignal(a: AbortSignal, b: AbortSignal): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  if (a.aborted) controller.abort(a.reason);
  else if (b.aborted) controller.abort(b.reason);
  const offA = onAbort(a, () => controller.abort(a.reason));
  const offB = onAbort(b, () => controller.abort(b.reason));
  return {
    signal: controller.signal,
    dispose() {
      offA();
      offB();
    },
  };
}
