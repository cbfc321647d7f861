import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Task outcomes signed with the servers' bearer token (--token-file), so that a client that holds
 * the token can tell an outcome a server recorded from one written into Redis by anyone else who
 * can write there (one HSET changes a result). The MAC covers what the outcome answers: the job,
 * the task's index, the method that ran (the queue's own) and the outcome's field and bytes, so an
 * outcome cannot be moved to another task, job or method either. HMAC-SHA256, hex, in the job's
 * hash beside the outcome (`s:I`, src/queue/job-keys.ts).
 */

/** Versioned, so that a later change of what is signed cannot be confused with this one. */
const domain = "rpcpool.queue.outcome.v1";

export function signOutcome(
  key: string,
  job: string,
  index: number,
  method: string,
  field: string,
  value: Buffer | string,
): string {
  return createHmac("sha256", key)
    .update(`${domain}\n${job}\n${index}\n${method}\n${field}\n`)
    .update(value)
    .digest("hex");
}

/** True when `signature` is the outcome's MAC under `key` (compared in constant time). */
export function outcomeSigned(
  key: string,
  signature: Buffer | undefined,
  job: string,
  index: number,
  method: string,
  field: string,
  value: Buffer,
): boolean {
  if (!signature) return false;
  const expected = Buffer.from(signOutcome(key, job, index, method, field, value));
  return signature.length === expected.length && timingSafeEqual(signature, expected);
}
