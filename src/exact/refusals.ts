/**
 * Typed refusals of the exact computations. Both are RangeErrors, so a caller that does not know
 * them still refuses the input (INVALID_ARGUMENT) rather than failing as a bug; the services map
 * them to their own gRPC codes, naming the file.
 */

/**
 * The exact result exists but float64 cannot hold it: its rounding is beyond ±MAX_VALUE. Never
 * answered as ±Infinity, which JSON cannot carry (it prints null) and which hides the cause.
 */
export class Float64Overflow extends RangeError {
  override name = "Float64Overflow";
  constructor(
    message = "the exact value is beyond float64 range",
    /** 1-based column of a table, when the value is a column's. */
    readonly column?: number,
  ) {
    super(message);
  }

  /** The same refusal, said of a table column. */
  inColumn(column: number): Float64Overflow {
    return new Float64Overflow(`column ${column}: ${this.message}`, column);
  }
}

/** A mean whose divisor is exactly zero: weights that sum to zero, or no rows. */
export class ZeroDivisor extends RangeError {
  override name = "ZeroDivisor";
}

/** Runs `compute` for table column `column` (1-based), naming the column in an overflow. */
export function inColumn<T>(column: number, compute: () => T): T {
  try {
    return compute();
  } catch (error) {
    throw error instanceof Float64Overflow ? error.inColumn(column) : error;
  }
}
