/** A mistake in how a program was called: exit code 2, message on stderr. */
export class UsageError extends Error {
  override name = "UsageError";
}
