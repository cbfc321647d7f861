import { ClientError } from "../rpc/client-error.js";
import { Status } from "../rpc/grpc-status.js";

/** Exit code of a job Ctrl-C ended: 128 + SIGINT, as a shell reports a program the signal killed. */
export const interruptedExitCode = 130;

/** The error each input that had not finished gets when Ctrl-C ends a job. */
export const interruptedError = () => new ClientError(Status.CANCELLED, "interrupted");

/** The error of a Ctrl-C that came before a job had anything to show (the weights' broadcast). */
export const isInterruptedError = (error: ClientError) =>
  error.code === Status.CANCELLED && error.details === "interrupted";

/** A job's Ctrl-C: the signal its calls take, whether it came, and the handler to remove after. */
export interface Interrupt {
  signal: AbortSignal;
  readonly interrupted: boolean;
  dispose(): void;
}

/**
 * Ctrl-C (SIGINT) during a job: the first aborts `signal` with CANCELLED "interrupted", so the
 * calls in flight are cancelled (the servers are told: their streams are reset) and the job ends
 * with what had finished, which the command prints before it exits with 130. A second Ctrl-C,
 * for a person who will not wait for that, exits at once with 130.
 */
export function onInterrupt(): Interrupt {
  const controller = new AbortController();
  const handler = () => {
    if (controller.signal.aborted) {
      // Not process.exit: it waits for libuv's thread pool, where a read of a pipe nobody writes
      // to never returns. The signal's own default ends the process at once, and a shell reports
      // it as 130 (interruptedExitCode), as it does for any program Ctrl-C killed.
      process.removeAllListeners("SIGINT");
      process.kill(process.pid, "SIGINT");
      return;
    }
    controller.abort(interruptedError());
    // After the other SIGINT listeners (the progress bars give the terminal back first).
    queueMicrotask(() =>
      process.stderr.write("interrupted: cancelling the calls in flight (Ctrl-C again to quit at once)\n"),
    );
  };
  process.on("SIGINT", handler);
  return {
    signal: controller.signal,
    get interrupted() {
      return controller.signal.aborted;
    },
    dispose: () => process.off("SIGINT", handler),
  };
}
