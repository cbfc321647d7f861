import type { Redis } from "ioredis";
import { ClientError } from "../rpc/client-error.js";
import { Status } from "../rpc/grpc-status.js";
import {
  errorField,
  type JobMeta,
  jobKey,
  replyField,
  signatureField,
  type TaskOutcome,
} from "./job-keys.js";
import { type JobResult, notFound } from "./job-types.js";
import { outcomeSigned } from "./result-signature.js";

/**
 * A job's outcomes as Redis holds them, read in one script call (collectScript) and checked: a
 * cancelled job is CANCELLED, a malformed outcome DATA_LOSS, and with the servers' token every
 * outcome a server recorded must carry its signature.
 */

export type CollectingRedis = Redis & {
  rpcpoolCollectBuffer(key: string, tasks: string): Promise<unknown>;
  rpcpoolCancel(key: string, ...args: string[]): Promise<number>;
  rpcpoolClaimKey(key: string, id: string, ttl: string): Promise<string>;
};

/** The outcomes when every task has settled (one round trip either way), else undefined. */
export async function collectOutcomes(
  redis: Redis,
  meta: JobMeta,
  signingKey: string | undefined,
): Promise<JobResult | undefined> {
  const reply = (await (redis as CollectingRedis).rpcpoolCollectBuffer(
    jobKey(meta.id),
    String(meta.tasks),
  )) as number | Buffer[];
  // A job that expired has no fields at all.
  if (reply === -1) throw notFound(meta.id);
  if (typeof reply === "number") return undefined;
  const all = new Map<string, Buffer>();
  for (let i = 0; i + 1 < reply.length; i += 2) all.set(reply[i]!.toString(), reply[i + 1]!);
  if (all.has("cancelled")) {
    throw new ClientError(
      Status.CANCELLED,
      `job ${meta.id} was cancelled: ${all.get("cancelled")} of its ${meta.tasks} tasks did not run to the end`,
    );
  }
  const outcomes: TaskOutcome[] = [];
  for (let index = 0; index < meta.tasks; index++) {
    const response = all.get(replyField(index));
    if (response) {
      checkSigned(signingKey, meta, index, replyField(index), response, all.get(signatureField(index)));
      outcomes.push({ ok: true, response });
      continue;
    }
    const bytes = all.get(errorField(index));
    if (!bytes) throw notFound(meta.id);
    // A failure recorded at submission (an unreadable file) is the client's, unsigned; one a
    // server recorded carries its signature, which must then hold.
    const signature = all.get(signatureField(index));
    if (signature) checkSigned(signingKey, meta, index, errorField(index), bytes, signature);
    outcomes.push(failureOutcome(meta.id, index, bytes));
  }
  const reduce = meta.reduce ? outcomes.pop() : undefined;
  return { id: meta.id, kind: meta.kind, created: meta.created, document: meta.document, outcomes, reduce };
}

/** Refuses an outcome not signed with the servers' token, when this client was given it. */
function checkSigned(
  key: string | undefined,
  meta: JobMeta,
  index: number,
  field: string,
  value: Buffer,
  signature?: Buffer,
): void {
  if (key === undefined) return;
  const method = meta.methods[meta.taskMethod?.[index] ?? 0] ?? "";
  if (outcomeSigned(key, signature, meta.id, index, method, field, value)) return;
  throw new ClientError(
    Status.DATA_LOSS,
    `job ${meta.id}: the outcome of task ${index + 1} is not signed with the servers' token: it was written into Redis by someone else (or by a server without that --token-file); refused`,
  );
}

/**
   * Cancels a job: its tasks that wait (or are delayed) are removed from the queue, those running
   * are aborted by their workers, wherever they are (told on a pub/sub channel; a worker that takes
   * one later sees the job's mark), and each task without an outcome gets CANCELLED. `status`
   * then says `cancelled`, and `result` is CANCELLED. Cancelling it again does nothing; a job that

/** A recorded failure: a JSON status; anything else in its place is a malformed record. */
function failureOutcome(id: string, index: number, bytes: Buffer): TaskOutcome {
  try {
    const failure = JSON.parse(bytes.toString()) as { code: unknown; message: unknown };
    if (Number.isInteger(failure.code) && typeof failure.message === "string")
      return { ok: false, code: failure.code as number, message: failure.message };
  } catch {}
  throw new ClientError(Status.DATA_LOSS, `job ${id}: the outcome of task ${index + 1} is malformed`);
}
