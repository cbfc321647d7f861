/**
 * The entry of the server's worker threads (loaded by piscina): imports the module a task names
 * and calls one of its exports, so any service can run CPU work off the event loop without writing
 * worker plumbing. A module is imported once per thread (and kept), so later tasks call straight in.
 */
export interface WorkerTask {
  /** The module's URL (see WorkerPool.run). */
  module: string;
  exportName: string;
  args: unknown[];
}

/**
 * What a task that threw a ServerError returns instead: an error crosses threads as its message
 * alone (structured clone keeps no class and no code), and a refusal must keep its code.
 */
export interface ThrownServerError {
  thrownServerError: { code: number; message: string; errorDetails: object };
}

type Exports = Record<string, unknown>;
const loaded = new Map<string, Exports>();

export default function runTask(task: WorkerTask): unknown {
  const exports = loaded.get(task.module);
  if (exports) return call(exports, task);
  return (import(task.module) as Promise<Exports>).then((imported) => {
    loaded.set(task.module, imported);
    return call(imported, task);
  });
}

function call(exports: Exports, task: WorkerTask): unknown {
  const fn = exports[task.exportName];
  if (typeof fn !== "function")
    throw new TypeError(`${task.module} has no exported function ${task.exportName}`);
  try {
    const result = fn(...task.args);
    return result instanceof Promise ? result.catch(passServerError) : result;
  } catch (error) {
    return passServerError(error);
  }
}

function passServerError(error: unknown): ThrownServerError {
  // By shape, not class: the task's module may have its own copy of rpcpool.
  const e = error as { name?: string; code?: unknown; message?: string; errorDetails?: object };
  if (e?.name !== "ServerError" || typeof e.code !== "number") throw error;
  return {
    thrownServerError: { code: e.code, message: e.message ?? "", errorDetails: e.errorDetails ?? {} },
  };
}
