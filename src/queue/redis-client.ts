import { Redis, type RedisOptions } from "ioredis";
import { ClientError } from "../rpc/client-error.js";
import { Status } from "../rpc/grpc-status.js";
import { type QueueAddress, redact } from "./queue-url.js";

/**
 * A connection to the queue's Redis for a client (submit, status, result): it gives up after a
 * few quick tries, so a program pointed at a queue that is down says so instead of hanging.
 * Its errors are kept for the message, never printed by ioredis itself.
 */
export function clientRedis(address: QueueAddress): Redis {
  const redis = new Redis({
    ...address.redis,
    lazyConnect: true,
    connectTimeout: 5_000,
    maxRetriesPerRequest: 2,
    retryStrategy: (times) => (times > 3 ? null : 100 * times),
  });
  // ioredis reports a refused connection or password as an event, then fails commands with
  // "Connection is closed": the event's error is the one worth telling.
  redis.on("error", (error: Error) => lastErrors.set(redis, error));
  return redis;
}

const lastErrors = new WeakMap<Redis, Error>();

/** The connection's own last error (what refused it), if any. */
export function lastError(redis: Redis): Error | undefined {
  return lastErrors.get(redis);
}

/**
 * Options for the long-lived connections of a worker (BullMQ duplicates them for its blocking
 * reads): they retry for ever, with back-off, so a worker outlives a restart of Redis.
 */
export function workerRedisOptions(address: QueueAddress): RedisOptions {
  return {
    ...address.redis,
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(5_000, 100 * times),
  };
}

/** Any failure to talk to Redis, as the client reports it: UNAVAILABLE, naming the queue without its password. */
export function queueError(address: QueueAddress, error: unknown, cause?: Error): ClientError {
  if (error instanceof ClientError) return error;
  let message = (error as Error)?.message ?? String(error);
  if (cause && /Connection is closed/i.test(message)) message = cause.message;
  const code = /NOAUTH|WRONGPASS|invalid password|invalid username/i.test(message)
    ? Status.UNAUTHENTICATED
    : Status.UNAVAILABLE;
  return new ClientError(code, `the queue at ${address.shown}: ${redact(message, address.secret)}`);
}
