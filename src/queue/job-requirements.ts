import type { Redis } from "ioredis";
import { meets } from "../pool/label-match.js";
import { ClientError } from "../rpc/client-error.js";
import { Status } from "../rpc/grpc-status.js";
import { checkLabels, type Labels } from "../rpc/server-labels.js";

/**
 * Labels on the queue (docs/queue.md, "Requirements"): a job submitted with `require` goes to task
 * queues of its own, one per method, named from its canonical requirement, and only the workers
 * whose `--label`s meet it consume them. BullMQ workers pull; the only way to keep a task from a
 * worker is not to let it read the queue the task is on.
 *
 * The requirements ever submitted are a Redis set (each added one announced on a channel), which
 * every worker reads at start, on each announcement and every few seconds (a missed message): it
 * then consumes every requirement queue its labels meet, beside the base queues.
 *
 * A worker's labels are also in the name of its base queues' blocking connections (BullMQ's worker
 * name, CLIENT SETNAME), so a client sees which workers are connected and what labels they have
 * with `queue.getWorkers()` alone: no registry of our own to expire.
 */

/** The set of every requirement submitted, as requirementText: what workers look through. */
export const requirementsKey = "rpcpool:requirements";
/** Told each requirement the first time it is submitted: workers start on its queues at once. */
export const requirementsChannel = "rpcpool:requirements:added";

/**
 * A requirement (or a worker's labels) as one canonical text: pairs sorted by key, each part
 * percent-encoded, `gpu=1&zone=b`. Fit for a BullMQ queue name (no ':') and a Redis client name (no
 * space); one requirement has one text whatever the order it was given in.
 */
export function requirementText(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((key) => `${encodeURIComponent(key)}=${encodeURIComponent(labels[key]!)}`)
    .join("&");
}

/** requirementText read back; undefined for a text no submit writes (anyone may write to Redis). */
export function parseRequirementText(text: string): Labels | undefined {
  if (text === "") return {};
  const labels: Record<string, string> = {};
  try {
    for (const pair of text.split("&")) {
      const eq = pair.indexOf("=");
      if (eq < 0) return undefined;
      const key = decodeURIComponent(pair.slice(0, eq));
      if (Object.hasOwn(labels, key)) return undefined;
      labels[key] = decodeURIComponent(pair.slice(eq + 1));
    }
    checkLabels(labels);
  } catch {
    return undefined;
  }
  return requirementText(labels) === text ? labels : undefined;
}

/** A submission's requirement checked: undefined for none (no pair at all requires nothing). */
export function checkedRequirement(require: Labels | undefined): Labels | undefined {
  if (!require || Object.keys(require).length === 0) return undefined;
  try {
    return checkLabels(require);
  } catch (error) {
    throw new ClientError(Status.INVALID_ARGUMENT, (error as Error).message);
  }
}

/** Records a requirement as submitted, announcing it the first time. */
export async function recordRequirement(redis: Redis, require: Labels): Promise<void> {
  const text = requirementText(require);
  if ((await redis.sadd(requirementsKey, text)) === 1) await redis.publish(requirementsChannel, text);
}

/** The requirements a worker with `labels` meets, from the set's members (malformed ones skipped). */
export function metRequirements(labels: Labels, texts: string[]): Map<string, Labels> {
  const met = new Map<string, Labels>();
  for (const text of texts) {
    const require = parseRequirementText(text);
    // The empty requirement is the base queue, consumed anyway.
    if (require && Object.keys(require).length > 0 && meets(labels, require)) met.set(text, require);
  }
  return met;
}

/** The BullMQ worker name that carries a worker's labels (`L` alone: no labels). */
export const workerName = (labels: Labels) => `L${requirementText(labels)}`;

/**
 * The labels of a worker from its connection's name as `queue.getWorkers()` gives it (`rawname`,
 * `rpcpool:BASE64:w:NAME`); a worker of an older rpcpool, unnamed, has none.
 */
export function workerLabels(rawname: string | undefined): Labels {
  const at = rawname?.indexOf(":w:L") ?? -1;
  if (at < 0) return {};
  return parseRequirementText(rawname!.slice(at + 4)) ?? {};
}
