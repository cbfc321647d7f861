import { setTimeout as sleep } from "node:timers/promises";
import { ClientError } from "rpcpool";
import { expect } from "vitest";

/**
 * Waits until `check` holds, looking every 10 ms at most `tries` times (a hang guard, not a
 * timing): the server's side of a call or a session settles a moment after the client's.
 */
export async function until(check: () => boolean, what: string, tries = 1000): Promise<void> {
  for (let i = 0; i < tries && !check(); i++) await sleep(10);
  if (!check()) throw new Error(`timed out waiting until ${what}`);
}

/** The ClientError a call was refused with (the test fails if it succeeded or threw anything else). */
export async function rejection(promise: Promise<unknown>): Promise<ClientError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ClientError);
  return error as ClientError;
}

/** A call's outcome in words: "OK", or "CODE: details". */
export const codeOf = (promise: Promise<unknown>): Promise<string> =>
  promise.then(
    () => "OK",
    (error: ClientError) => `${error.codeName}: ${error.details}`,
  );
