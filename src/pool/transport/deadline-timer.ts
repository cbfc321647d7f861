/** Node's timers take at most 2^31-1 ms (24.8 days); a longer delay fires at once. */
const longestTimer = 2 ** 31 - 1;

/**
 * Calls `expire` at the epoch-millisecond `deadline` (never for Infinity). A deadline further away
 * than a Node timer reaches is waited for in several timers, each one checking what remains, so
 * that it neither fires at once (an overflowed delay) nor early (a clamped one). Returns a cancel.
 */
export function deadlineTimer(deadline: number, expire: () => void): () => void {
  if (!Number.isFinite(deadline)) return () => {};
  let timer: NodeJS.Timeout | undefined;
  // Always from a timer, even when the deadline has passed: the caller is not called back yet.
  const arm = () => {
    timer = setTimeout(check, Math.max(0, Math.min(deadline - Date.now(), longestTimer)));
  };
  const check = () => {
    if (deadline - Date.now() > 0) arm();
    else expire();
  };
  arm();
  return () => clearTimeout(timer);
}
