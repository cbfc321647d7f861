import type { JobQueue } from "../queue/job-queue.js";
import { say } from "./output.js";

/** How long `result --wait` waits before it looks for workers, and then between looks. */
const lookEveryMs = 3_000;

/**
 * `result --wait` on a job no worker takes waits forever in silence: after a few seconds, while
 * the job is unfinished, it looks whether any worker is connected to the job's task queues and, if
 * none is, says so once on stderr, with how to start one, and keeps waiting. A look that fails
 * says nothing: the wait itself reports a queue that went away.
 */
export async function waitNoticingNoWorker<T>(queue: JobQueue, id: string, wait: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const look = async () => {
    const workers = await queue.workersFor(id).catch(() => undefined);
    if (workers === 0) {
      say(
        `waiting: no worker is connected to queue ${queue.shown}; ` +
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
