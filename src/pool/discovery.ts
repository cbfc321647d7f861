import { ClientError } from "../rpc/client-error.js";
import { Status as status } from "../rpc/grpc-status.js";

/** Every address behind a name (IPv4 and IPv6), like the system resolver's lookup with all: true. */
export type Lookup = (name: string) => Promise<string[]>;

// node:dns/promises is loaded on the first dns:/// target: HOST:PORT lists (a tiny call) never need it.
const systemLookup: Lookup = async (name) => {
  const { lookup } = await import("node:dns/promises");
  return (await lookup(name, { all: true })).map((a) => a.address);
};

/**
 * The servers a target list names: HOST:PORT items as they are, and `dns:///name:port` items
 * resolved to every address behind the name (a Kubernetes headless service), looked up again
 * by `watch` so that servers joining and leaving are seen.
 */
export class Discovery {
  readonly dynamic: boolean;

  constructor(
    readonly targets: string[],
    readonly lookup: Lookup = systemLookup,
  ) {
    this.dynamic = targets.some((target) => target.startsWith("dns:"));
  }

  async resolve(): Promise<string[]> {
    const lists = await Promise.all(this.targets.map((target) => this.#resolveOne(target)));
    return [...new Set(lists.flat())];
  }

  /** Resolves every `everyMs` and reports the addresses; a failed lookup keeps the last answer. */
  watch(everyMs: number, onAddresses: (addresses: string[]) => Promise<void>): { stop(): void } {
    let running = false;
    const timer = setInterval(async () => {
      if (running) return;
      running = true;
      try {
        await onAddresses(await this.resolve());
      } catch {
        // DNS hiccups are common in clusters: the pool keeps what it has until the next lookup.
      } finally {
        running = false;
      }
    }, everyMs);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }

  async #resolveOne(target: string): Promise<string[]> {
    if (!target.startsWith("dns:")) return [target];
    const match = /^dns:(?:\/\/[^/]*)?\/([^/:]+|\[[^\]]+\]):(\d+)$/.exec(target);
    if (!match) throw new ClientError(status.INVALID_ARGUMENT, `${target}: expected dns:///name:port`);
    const [, name, port] = match;
    let addresses: string[];
    try {
      addresses = await this.lookup(name!);
    } catch (error) {
      throw new ClientError(
        status.UNAVAILABLE,
        `${target}: cannot resolve ${name}: ${(error as Error).message}`,
      );
    }
    return addresses.map((address) =>
      address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`,
    );
  }
}
