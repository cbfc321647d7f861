import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { Piscina } from "piscina";
import { ServerError } from "../rpc/server-error.js";
import { endSpan, startInternalSpan, tracingOn } from "../tracing/spans.js";
import { type CallClient, ClientScope } from "./client-key.js";
import { FairQueue } from "./fair-queue.js";
import type { ThrownServerError } from "./worker-entry.js";

/** How a task runs: a signal that stops it, and memory to move to the worker rather than copy. */
export interface RunOptions {
  /** Aborting ends the worker running the task (piscina starts a fresh one), so the work stops. */
  signal?: AbortSignal;
  /** ArrayBuffers (or ports) to move into the worker; they are unusable here afterwards. */
  transfer?: Transferable[];
  /**
   * Whose work this is and its priority within that client's (fair-queue.ts). By default the
   * client of the call whose handler runs it, with the call's `rpcpool-priority`.
   */
  client?: Partial<CallClient>;
}

export interface WorkerPoolOptions {
  /** Aging of priorities (fair-queue.ts): a task due after this many mean task times. Default 8. */
  maxPriorityWaitFactor?: number;
}

/**
 * The server's worker threads, one pool for every service it hosts: `run` calls an export of a
 * module on one of them, so CPU work leaves the event loop, which keeps answering calls and health
 * checks, and one server uses every core. The threads start on first use (each boots a Node
 * environment, about 140 ms of CPU: a server that only answers small calls never pays it, and a
 * local server starts sooner) and end after a while idle. Tasks queue without bound: callers
 * bound their own work in flight (table streams by their piece slots).
 *
 * Tasks wait in a FairQueue, by client (the call's connection or `rpcpool-client` name, from the
 * handler's ClientScope) and kind (module and export): clients take turns, then a client's kinds
 * and priorities; a kind with nothing running may start on a spare thread while long work holds
 * the others, so two endless spins do not keep a table call waiting.
 */
export class WorkerPool {
  readonly #piscina: Piscina;
  readonly #queue: FairQueue;
  /** The client of the handler running: set by the handlers (handlers.ts), read by `run`. */
  readonly clients = new ClientScope();

  constructor(
    readonly threads: number,
    options: WorkerPoolOptions = {},
  ) {
    this.#queue = new FairQueue(threads, threads, options);
    this.#piscina = new Piscina({
      filename: new URL("./worker-entry.js", import.meta.url).href,
      minThreads: 0,
      maxThreads: threads * 2,
      idleTimeout: 30_000,
      maxQueue: Number.POSITIVE_INFINITY,
    });
    // Piscina emits "error" for what has no task left to answer: a reply that comes in after its
    // task was aborted ("Unexpected message from Worker": a call refused for a bad cell aborts its
    // other pieces while a thread is finishing one), a thread that fails while idle (piscina starts
    // another), a close that times out. None concerns a call still running, and an "error" event
    // without a listener would end the whole server: each is one line on stderr instead.
    this.#piscina.on("error", (error: Error) => {
      const message = String(error?.message);
      const said = message.startsWith("Unexpected message from Worker")
        ? "a thread answered a task already aborted; the answer is dropped"
        : message.split("\n")[0];
      process.stderr.write(`rpcpool-server: worker threads: ${said}\n`);
    });
  }

  /**
   * Calls `exportName(...args)` of the module at `module` (a URL, or a path) on a worker thread and
   * resolves what it returns. Arguments and result cross threads by structured clone: plain data,
   * typed arrays, and SharedArrayBuffers, which the worker reads in place. A ServerError thrown
   * there is thrown here as one (with its code and details); any other error keeps only its message.
   */
  run<T>(
    module: string | URL,
    exportName: string,
    args: unknown[] = [],
    options: AbortSignal | RunOptions = {},
  ): Promise<T> {
    const { signal, transfer, client } =
      options instanceof AbortSignal ? { signal: options, transfer: undefined, client: undefined } : options;
    const caller = this.clients.current;
    const who = { client: client?.client ?? caller?.client, priority: client?.priority ?? caller?.priority };
    const href = moduleHref(module);
    const kind = `${href}#${exportName}`;
    // The task's span, child of the call's (the handler's span is active here): from the queue to
    // its end, with the moment a thread took it. Measured here: the threads load no SDK.
    const traced = tracingOn()
      ? startInternalSpan(`worker ${exportName}`, {
          "rpcpool.worker.module": href,
          "rpcpool.worker.export": exportName,
        })
      : undefined;
    const ran = new Promise<unknown>((resolve, reject) => {
      signal?.throwIfAborted();
      const onAbort = () => {
        // Still waiting: dropped where it stands, its turn skipped. Running: piscina stops it.
        task.dropped = true;
        reject(signal!.reason);
      };
      const task = {
        dropped: false,
        start: () => {
          signal?.removeEventListener("abort", onAbort);
          traced?.span.addEvent("started on a thread");
          const startedAt = performance.now();
          this.#piscina
            .run({ module: href, exportName, args }, { signal, transferList: transfer as never })
            .finally(() => this.#queue.done(kind, performance.now() - startedAt, who.client))
            .then(resolve, reject);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#queue.add(kind, task, who);
    }).then((result: unknown) => {
      const thrown = (result as Partial<ThrownServerError> | undefined)?.thrownServerError;
      if (thrown) throw new ServerError(thrown.code, thrown.message, thrown.errorDetails);
      return result as T;
    });
    if (!traced) return ran;
    return ran.then(
      (result) => {
        endSpan(traced.span);
        return result;
      },
      (error: unknown) => {
        endSpan(traced.span, error);
        throw error;
      },
    );
  }

  /** Tasks running on the threads now. */
  get running(): number {
    return this.#queue.running;
  }

  /** Tasks waiting for a thread, by kind of work, named `module-file#export` (for metrics). */
  waiting(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [kind, n] of this.#queue.waiting()) {
      const name = kind.slice(kind.lastIndexOf("/", kind.lastIndexOf("#")) + 1);
      counts.set(name, (counts.get(name) ?? 0) + n);
    }
    return counts;
  }

  /** Tasks waiting for a thread, of every kind (for StatsService: cheaper than waiting()). */
  get waitingTotal(): number {
    return this.#queue.waitingTotal;
  }

  async close(): Promise<void> {
    await this.#piscina.destroy();
  }
}

/** A module's file URL: kept when it is one, else made from a path (so `#` or `%` in it stay literal). */
export function moduleHref(module: string | URL): string {
  if (module instanceof URL) return module.href;
  return /^(file|data|node):/.test(module) ? module : pathToFileURL(module).href;
}
