import type { JobQueue } from "../queue/job-queue.js";
import { formatLabels, type Labels, labelsAsPairs } from "../rpc/server-labels.js";
import { say } from "./output.js";

/** How long `result --wait` waits before it looks for workers, and then between looks. */
const lookEveryMs = 3_000;

/** The `--label` flags that start a worker meeting a requirement. */
const labelFlags = (require: Labels) =>
  labelsAsPairs(require)
    .map((pair) => ` --label ${pair}`)
    .join("");

/**
 * `result --wait` on a job no worker takes waits forever in silence: after a few seconds, while
 * the job is unfinished, it looks whether any worker that may take the job's tasks (one whose
 * labels meet its --require) is connected to the job's task queues and, if none is, says so once
 * on stderr, with how to start one, and keeps waiting. A look that fails says nothing: the wait
 * itself reports a queue that went away.
 */
export async function waitNoticingNoWorker<T>(queue: JobQueue, id: string, wait: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const look = async () => {
    const workers = await queue.jobWorkers(id).catch(() => undefined);
    if (workers?.matching === 0) {
      const { require } = workers;
      say(
        require
          ? `waiting for a worker with ${labelsAsPairs(require).join(",")}: none connected to queue ${queue.shown} has it ` +
              `(workers' labels: ${shownLabels(workers.labels)}); start one with rpcpool-server --queue ${queue.shown}${labelFlags(require)} (still waiting; Ctrl-C to stop)`
          : `waiting: no worker is connected to queue ${queue.shown}; ` +
              `start one with rpcpool-server --queue ${queue.shown} (still waiting; Ctrl-C to stop)`,
      );
      return;
    }
    timer = setTimeout(look, lookEveryMs);
  };
  timer = setTimeout(look, lookEveryMs);
  try {
    return await wait;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * After `submit --require`: a warning on stderr when no connected worker meets the requirement.
 * The job is stored and waits (a worker with the labels may come later); the warning names the
 * requirement and the labels the connected workers have. A look that fails says nothing.
 */
export async function warnUnmetRequirement(queue: JobQueue, id: string): Promise<void> {
  const workers = await queue.jobWorkers(id).catch(() => undefined);
  if (!workers?.require || workers.matching > 0) return;
  say(
    `warning: no worker connected to queue ${queue.shown} has ${labelsAsPairs(workers.require).join(",")} ` +
      `(workers' labels: ${shownLabels(workers.labels)}); job ${id} waits for one: ` +
      `start it with rpcpool-server --queue ${queue.shown}${labelFlags(workers.require)}`,
  );
}

function shownLabels(labels: Labels[]): string {
  return labels.length === 0 ? "no worker is connected" : labels.map(formatLabels).join(", ");
}
