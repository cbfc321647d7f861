/**
 * Entry point of the worker threads that run user code (loaded by piscina): imports the module
 * named by the task and calls one of its exports, so a user service can do CPU work off the event
 * loop without writing any worker plumbing.
 */
export default async function runUserTask(task: { module: string; exportName: string; args: unknown[] }) {
  const module = (await import(task.module)) as Record<string, unknown>;
  const fn = module[task.exportName];
  if (typeof fn !== "function")
    throw new TypeError(`${task.module} has no exported function ${task.exportName}`);
  return fn(...task.args);
}
