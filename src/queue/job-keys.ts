import type { Labels } from "../rpc/server-labels.js";
import { requirementText } from "./job-requirements.js";

/**
 * Where a job lives in Redis. BullMQ keeps the tasks (one queue per method, under the `rpcpool`
 * prefix); beside them, each job has one hash of its own: `meta` (what was submitted), `keep`
 * (milliseconds its results are kept), and one field per settled task, `r:I` (the reply's proto
 * bytes) or `e:I` (a JSON status), and `s:I` its signature when the servers have a token. Inputs too large to ride in the task live in a list per task.
 */
export const bullPrefix = "rpcpool";

export const jobKey = (id: string) => `rpcpool:job:{${id}}`;
export const inputKey = (id: string, index: number) => `rpcpool:job:{${id}}:in:${index}`;
/** Pub/sub channel told the index of each task as it settles: what `result --wait` listens to. */
export const settledChannel = (id: string) => `rpcpool:job:{${id}}:settled`;
/**
 * Pub/sub channel told the id of each job cancelled (`rpcpool cancel`): every worker listens to
 * it, on whatever machine, and aborts the tasks of that job it is running. A worker that takes a
 * task also looks at the job's `cancelled` field once, for a message it may have missed.
 */
export const cancelChannel = "rpcpool:cancel";
/** A submission key (`submit --key`): the id of the job submitted with it, while that job is kept. */
export const submissionKey = (key: string) => `rpcpool:key:${key}`;
/** A repeating job's template (`submit --every`), by its scheduler's name. */
export const scheduleKey = (name: string) => `rpcpool:schedule:${name}`;
/** The ids of a schedule's runs (the jobs it submitted), oldest first. */
export const scheduleRunsKey = (name: string) => `rpcpool:schedule:${name}:runs`;
/** The BullMQ queue whose repeating jobs submit the schedules' runs. */
export const scheduleQueueName = "schedules";

/** Sorted set of job ids by submission time, for `jobs` (ids of expired jobs are dropped lazily). */
export const jobIndexKey = "rpcpool:jobs";

export const replyField = (index: number) => `r:${index}`;
export const errorField = (index: number) => `e:${index}`;
/** The outcome's HMAC when the servers have a token (src/queue/result-signature.ts). */
export const signatureField = (index: number) => `s:${index}`;

/**
 * A method's task queue: BullMQ names may not hold ':'; a path's '/' become '.'. A job with a
 * requirement (`--require`) has queues of its own, `task.METHOD@gpu=1&zone=b` (its canonical text,
 * src/queue/job-requirements.ts), consumed only by the workers whose labels meet it.
 */
export function taskQueueName(methodPath: string, require?: Labels): string {
  const base = `task.${methodPath.replace(/^\//, "").replaceAll("/", ".")}`;
  return require && Object.keys(require).length > 0 ? `${base}@${requirementText(require)}` : base;
}

/** A task's BullMQ job id: unique within its queue, so a task is never enqueued twice. */
export const taskJobId = (id: string, index: number) => `${id}-${index}`;

/**
 * What a BullMQ job carries: one or more tasks of one method of one job (small tasks ride
 * together), each its index and, when small, its request messages in base64 (else they are at
 * inputKey). Its BullMQ id is taskJobId(job, first task's index).
 */
export interface TaskData {
  job: string;
  method: string;
  tasks: Array<{ index: number; inline?: string[] }>;
  /** The job's reduce step (JobMeta.reduce): its input is the other tasks' replies. */
  reduce?: boolean;
  /**
   * The W3C trace context of the submit (`traceparent`), when it was traced: each task's run is a
   * span of the submitter's trace. Read as untrusted (anything but strings ignored).
   */
  trace?: Record<string, string>;
}

/** The job's `meta` field. */
export interface JobMeta {
  id: string;
  /** What the job is, for people and for `result` (e.g. "column-sums"). */
  kind: string;
  /** Milliseconds since the epoch. */
  created: number;
  tasks: number;
  /** The methods its tasks call; `taskMethod[i]` indexes it (absent: all tasks call methods[0]). */
  methods: string[];
  taskMethod?: number[];
  /** The first task of each task's BullMQ job, when small tasks ride together (absent: each alone). */
  chunk?: number[];
  /** What the submitter wants back with the results (the command's arguments, for the CLI). */
  document?: unknown;
  /**
   * A reduce step (`--then`): `method` runs once every other task has settled, on
   * `{ repeated V parts = 1; }` of their replies in task order; it is the job's last task
   * (`index`, = tasks - 1), a BullMQ flow's parent of the others.
   */
  reduce?: { method: string; index: number };
  /** The submission key it was submitted with (`--key`), kept as long as the job. */
  key?: string;
  /**
   * The labels a worker must have to take its tasks (`--require`): its tasks are on the queues
   * taskQueueName(method, require), where status and cancel find them.
   */
  require?: Labels;
}

/** A settled task: its reply's bytes, or its status. */
export type TaskOutcome = { ok: true; response: Buffer } | { ok: false; code: number; message: string };

/**
 * Records the outcomes of some of a job's tasks, if the job still exists: a task that has an
 * outcome already keeps it (a task run again after its worker died having recorded it: nothing
 * is done twice in effect). Refreshes the job's expiry (results are kept `keep` ms after the last
 * task settled), drops the tasks' inputs, and tells waiting clients. Returns 0 when the job has
 * expired (nobody can ask for the outcomes), else how many outcomes it recorded.
 * KEYS: job hash, then each task's input list. ARGV: channel, then index, field, value and
 * signature ('' for none) per task.
 */
export const settleScript = `
local keep = redis.call('HGET', KEYS[1], 'keep')
if not keep then return 0 end
local recorded = 0
for i = 2, #ARGV, 4 do
  local index = ARGV[i]
  if redis.call('HEXISTS', KEYS[1], 'r:' .. index) == 0 and redis.call('HEXISTS', KEYS[1], 'e:' .. index) == 0 then
    redis.call('HSET', KEYS[1], ARGV[i + 1], ARGV[i + 2])
    if ARGV[i + 3] ~= '' then redis.call('HSET', KEYS[1], 's:' .. index, ARGV[i + 3]) end
    recorded = recorded + 1
  end
end
for k = 2, #KEYS do redis.call('DEL', KEYS[k]) end
redis.call('PEXPIRE', KEYS[1], keep)
local key = redis.call('HGET', KEYS[1], 'key')
if key then redis.call('PEXPIRE', key, keep) end
redis.call('PUBLISH', ARGV[1], recorded)
return recorded
`;

/**
 * Cancels a job: marks it (`cancelled`, how many tasks it stopped), records CANCELLED as the
 * outcome of each task without one (so that `result` returns at once, and a worker's later
 * outcome is not kept), drops their inputs, tells the job's waiting clients and every worker.
 * Returns -1 when the job has expired, -2 when it had finished already, else the tasks cancelled
 * (0: cancelled before). KEYS: job hash. ARGV: settled channel, tasks, failure, job id, cancel channel.
 */
export const cancelScript = `
local keep = redis.call('HGET', KEYS[1], 'keep')
if not keep then return -1 end
if redis.call('HEXISTS', KEYS[1], 'cancelled') == 1 then return 0 end
local cancelled = 0
for index = 0, tonumber(ARGV[2]) - 1 do
  if redis.call('HEXISTS', KEYS[1], 'r:' .. index) == 0 and redis.call('HEXISTS', KEYS[1], 'e:' .. index) == 0 then
    redis.call('HSET', KEYS[1], 'e:' .. index, ARGV[3])
    redis.call('DEL', KEYS[1] .. ':in:' .. index)
    cancelled = cancelled + 1
  end
end
if cancelled == 0 then return -2 end
redis.call('HSET', KEYS[1], 'cancelled', cancelled)
redis.call('PEXPIRE', KEYS[1], keep)
redis.call('PUBLISH', ARGV[1], cancelled)
redis.call('PUBLISH', ARGV[5], ARGV[4])
return cancelled
`;

/**
 * Claims a submission key for a new job, or finds the job submitted with it: returns the id to use
 * (the new one, or the earlier job's). The key expires with its job (settleScript pushes both on),
 * so an id found is a job still kept; two submits at once with one key get one id.
 * KEYS: the submission key. ARGV: the new id, its expiry (ms).
 */
export const claimKeyScript = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return ARGV[1] end
return redis.call('GET', KEYS[1])
`;

/**
 * A job's fields when all its tasks have settled, else how many have (-1: the job has expired):
 * what `result` asks, in one round trip. Outcomes are counted by name (`r:`/`e:`), not by the
 * hash's length, which signatures and anything else written there would inflate.
 * KEYS: job hash. ARGV: tasks.
 */
export const collectScript = `
local names = redis.call('HKEYS', KEYS[1])
if #names == 0 then return -1 end
local settled = 0
for _, name in ipairs(names) do
  local kind = string.sub(name, 1, 2)
  if kind == 'r:' or kind == 'e:' then settled = settled + 1 end
end
if settled < tonumber(ARGV[1]) then return settled end
return redis.call('HGETALL', KEYS[1])
`;

/**
 * The bytes of a task's input list, counted in Redis so that a worker learns its size without
 * reading it (stops counting once past the limit). KEYS: the list. ARGV: the limit.
 */
export const inputBytesScript = `
local length = redis.call('LLEN', KEYS[1])
local limit = tonumber(ARGV[1])
local total = 0
for at = 0, length - 1, 128 do
  for _, piece in ipairs(redis.call('LRANGE', KEYS[1], at, at + 127)) do total = total + #piece end
  if total > limit then return total end
end
return total
`;
