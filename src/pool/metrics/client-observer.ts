/**
 * What a pool's connections tell its metrics (`pool.metrics()`), one meter per call. Nothing is
 * measured until a program asks: connections hold no observer before, and pay one field read.
 */
export interface ClientObserver {
  /** A call starts: its path and kind; the meter hears its messages and its end (once). */
  call(path: string, requestStream: boolean, responseStream: boolean): CallMeter;
  /**
   * The meter of a batch's items, found once per batch (every item is of one method): each item
   * counts as a unary call of its own method (a coalesced call too).
   */
  batch(path: string): BatchMeter;
}

export interface CallMeter {
  sent(): void;
  received(): void;
  /** The call's status code (0 for OK); later calls are ignored. */
  end(code: number): void;
}

export interface BatchMeter {
  /** One item ended with `code` after `seconds`. */
  unary(code: number, seconds: number): void;
}
