import { Piscina } from "piscina";

/** Worker threads for user services; started on first use, so servers without user work pay nothing. */
export class UserWorkerPool {
  #piscina?: Piscina;

  constructor(readonly threads: number) {}

  /**
   * Calls `exportName(...args)` of the module at `module` (a file URL or path) on a worker thread.
   * Aborting the signal ends the worker running it, so cancelled work really stops.
   */
  run<T>(module: string | URL, exportName: string, args: unknown[] = [], signal?: AbortSignal): Promise<T> {
    this.#piscina ??= new Piscina({
      filename: new URL("./worker-entry.js", import.meta.url).href,
      minThreads: 0,
      maxThreads: this.threads,
      idleTimeout: 30_000,
    });
    const href =
      module instanceof URL
        ? module.href
        : module.startsWith("file:")
          ? module
          : new URL(`file://${module}`).href;
    return this.#piscina.run({ module: href, exportName, args }, { signal });
  }

  async close(): Promise<void> {
    await this.#piscina?.destroy();
  }
}
