/**
 * Where a job lives in Redis. BullMQ keeps the tasks (one queue per method, under the `rpcpool`
 * prefix); beside them, each job has one hash of its own: `meta` (what was submitted), `keep`
 * (milliseconds its results are kept), and one field per settled task, `r:I` (the reply's proto
 * bytes) or `e:I` (a JSON status). Inputs too large to ride in the task live in a list per task.
 */
export const bullPrefix = "rpcpool";

export const jobKey = (id: string) => `rpcpool:job:{${id}}`;
export const inputKey = (id: string, index: number) => `rpcpool:job:{${id}}:in:${index}`;
/** Pub/sub channel told the index of each task as it settles: what `result --wait` listens to. */
export const settledChannel = (id: string) => `rpcpool:job:{${id}}:settled`;
/** Sorted set of job ids by submission time, for `jobs` (ids of expired jobs are dropped lazily). */
export const jobIndexKey = "rpcpool:jobs";

export const replyField = (index: number) => `r:${index}`;
export const errorField = (index: number) => `e:${index}`;

/** A method's task queue: BullMQ names may not hold ':'; a path's '/' become '.'. */
export function taskQueueName(methodPath: string): string {
  return `task.${methodPath.replace(/^\//, "").replaceAll("/", ".")}`;
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
}

/** A settled task: its reply's bytes, or its status. */
export type TaskOutcome = { ok: true; response: Buffer } | { ok: false; code: number; message: string };

/**
 * Records the outcomes of some of a job's tasks, if the job still exists: a task that has an
 * outcome already keeps it (a task run again after its worker died having recorded it: nothing
 * is done twice in effect). Refreshes the job's expiry (results are kept `keep` ms after the last
 * task settled), drops the tasks' inputs, and tells waiting clients. Returns 0 when the job has
 * expired (nobody can ask for the outcomes), else how many outcomes it recorded.
 * KEYS: job hash, then each task's input list. ARGV: channel, then index, field, value per task.
 */
export const settleScript = `
local keep = redis.call('HGET', KEYS[1], 'keep')
if not keep then return 0 end
local recorded = 0
for i = 2, #ARGV, 3 do
  local index = ARGV[i]
  if redis.call('HEXISTS', KEYS[1], 'r:' .. index) == 0 and redis.call('HEXISTS', KEYS[1], 'e:' .. index) == 0 then
    redis.call('HSET', KEYS[1], ARGV[i + 1], ARGV[i + 2])
    recorded = recorded + 1
  end
end
for k = 2, #KEYS do redis.call('DEL', KEYS[k]) end
redis.call('PEXPIRE', KEYS[1], keep)
redis.call('PUBLISH', ARGV[1], recorded)
return recorded
`;

/**
 * A job's fields when all its tasks have settled, else how many fields it has (0: the job has
 * expired): what `result` asks, in one round trip. KEYS: job hash. ARGV: tasks.
 */
export const collectScript = `
local fields = redis.call('HLEN', KEYS[1])
if fields - 2 < tonumber(ARGV[1]) then return fields end
return redis.call('HGETALL', KEYS[1])
`;
