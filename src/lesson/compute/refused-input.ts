/**
 * A computation's refusal of its input (a negative radius, an empty list): the caller's mistake,
 * said in words, not a bug. The lesson's services send it as INVALID_ARGUMENT with this message;
 * any other error out of a computation is a bug (INTERNAL). A RangeError, as the language's own
 * refusals of a value out of range are.
 */
export class RefusedInput extends RangeError {
  override name = "RefusedInput";
}
