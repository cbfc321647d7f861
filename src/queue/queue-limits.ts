import { ClientError } from "../rpc/client-error.js";
import { Status } from "../rpc/grpc-status.js";

/**
 * How much input a job may put into the broker. Redis holds everything in memory, and a task's
 * worker reads its whole input before running it: the bounds keep one job from filling either.
 * Larger inputs stay where they are, on the servers' --data-root (`--remote-paths`).
 */
export interface QueueLimits {
  /** Most request bytes of one task (default 64 MiB). */
  maxTaskBytes: number;
  /** Most request bytes of one job (default 512 MiB). */
  maxJobBytes: number;
  /** Inputs up to this size ride in the task itself (default 16 KiB); larger ones go in a list of pieces. */
  inlineBytes: number;
}

export const defaultQueueLimits: QueueLimits = {
  maxTaskBytes: 64 << 20,
  maxJobBytes: 512 << 20,
  inlineBytes: 16 << 10,
};

export function queueLimits(overrides: Partial<QueueLimits> = {}): QueueLimits {
  return { ...defaultQueueLimits, ...overrides };
}

const mib = (bytes: number) => `${Math.round((bytes / 2 ** 20) * 10) / 10} MiB`;

/** The refusal of an input too large for the queue, saying what to do instead. */
export function tooLarge(what: string, bytes: number, limit: number): ClientError {
  return new ClientError(
    Status.RESOURCE_EXHAUSTED,
    `${what} is ${mib(bytes)}, more than the queue takes (${mib(limit)}): put the files under the servers' --data-root and submit with --remote-paths`,
  );
}
