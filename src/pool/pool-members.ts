import { callMetadata, transportTls } from "../rpc/client-credentials.js";
import { ClientError } from "../rpc/client-error.js";
import type { MethodDefaults } from "../rpc/method-defaults.js";
import { connectFailure, noServerError } from "./connect-failure.js";
import type { Discovery } from "./discovery.js";
import type { ClientObserver } from "./metrics/client-observer.js";
import type { ConnectOptions } from "./pool-options.js";
import { ServerConnection } from "./server-connection.js";

/**
 * The servers of a pool as discovery changes them: those work goes to, and those dropped that
 * still run calls or hold sessions of this pool (closed once those end).
 */
export class PoolMembers {
  /** Servers discovery dropped whose calls or sessions are still running: closed once those end. */
  readonly #leaving = new Set<ServerConnection>();
  /** The server of each open session (a dropped server keeps its connection while one is open). */
  readonly #sessionHosts = new Map<object, ServerConnection>();
  #discovery?: { stop(): void };
  /** pool.metrics()'s observer, once asked for: servers that join later are counted too. */
  #observer?: ClientObserver;
  /** The pool's error once no server it was given answered its Info (`greet`): none is left. */
  unreachable: ClientError | undefined;
  #closed = false;

  constructor(
    /** The servers work goes to now. */
    readonly list: ServerConnection[],
    readonly options: ConnectOptions,
    readonly defaults: MethodDefaults,
  ) {}

  /** Looks names up again now and then: servers that join are used, those that leave dropped; `changed` after each. */
  watch(discovery: Discovery, changed: () => void): void {
    this.#discovery = discovery.watch(this.options.resolveEveryMs ?? 30_000, async (current) => {
      const known = new Set(this.list.map((s) => s.address));
      const joined = current.filter((address) => !known.has(address));
      for (const server of await connectAll(joined, this.options, this.defaults)) {
        if (this.#observer) server.observe(this.#observer);
        this.list.push(server);
      }
      for (const server of this.list.filter((s) => !current.includes(s.address))) this.#remove(server);
      changed();
    });
  }

  /**
   * Asks every member its Info without waiting for the answers (ConnectOptions.pipeline): calls go
   * out behind Info on the same connections. A server that does not answer is warned of and
   * dropped, as `connectAll` skips it; when none answered, `unreachable` is the error a pool that
   * reached no server throws. `changed` after each answer (Info brings worker counts and labels).
   */
  greet(targets: string[], changed: () => void): void {
    const failures: ClientError[] = [];
    let waiting = this.list.length;
    for (const server of this.list) {
      server.greeting = server.hello().then(
        () => {
          server.greeting = undefined;
          return true;
        },
        (reason: unknown) => {
          server.greeting = undefined;
          // An Info cut short by the pool's own close (a command done before it came) is no news.
          if (this.#closed) return false;
          failures.push(skipped(server.address, reason, this.options));
          this.#remove(server);
          return false;
        },
      );
      server.greeting.then(() => {
        if (--waiting === 0 && this.list.length === 0) this.unreachable = noServerError(targets, failures);
        changed();
      });
    }
  }

  /** Counts every member's calls from now on, and those of servers that join later. */
  observe(observer: ClientObserver): void {
    this.#observer = observer;
    for (const server of [...this.list, ...this.#leaving]) server.observe(observer);
  }

  /** A session opened on `server`: a dropped server stays connected until it ends. */
  hostSession(session: object, server: ServerConnection): void {
    this.#sessionHosts.set(session, server);
  }

  sessionEnded(session: object): void {
    const server = this.#sessionHosts.get(session);
    this.#sessionHosts.delete(session);
    if (server) this.closeIfDrained(server);
  }

  /** Closes a dropped server's connection once no task call and no session of this pool is on it. */
  closeIfDrained(server: ServerConnection): void {
    if (!this.#leaving.has(server) || server.inFlight > 0) return;
    for (const host of this.#sessionHosts.values()) if (host === server) return;
    this.#leaving.delete(server);
    server.close();
  }

  /** Stops discovery and closes every connection. */
  close(): void {
    this.#closed = true;
    this.#discovery?.stop();
    for (const server of [...this.list, ...this.#leaving]) server.close();
    this.#leaving.clear();
  }

  /**
   * Takes a server discovery dropped out of dispatch at once, and closes its connection once the
   * calls it runs have settled and its sessions ended: a pod in a rollout drains them (it answers
   * what it has), and closing under them would cancel work it is about to finish and run it again
   * elsewhere.
   */
  #remove(server: ServerConnection): void {
    const i = this.list.indexOf(server);
    if (i < 0) return;
    this.list.splice(i, 1);
    this.#leaving.add(server);
    this.closeIfDrained(server);
  }
}

/** Connects to each address (Info within 5 s, or a plain gRPC server); unreachable ones are skipped with a warning. */
export async function connectAll(
  addresses: string[],
  options: ConnectOptions,
  defaults: MethodDefaults,
  failures: ClientError[] = [],
): Promise<ServerConnection[]> {
  const connections = connectionsTo(addresses, options, defaults);
  const hellos = await Promise.allSettled(connections.map((connection) => connection.hello()));
  hellos.forEach((hello, i) => {
    if (hello.status === "rejected") {
      connections[i]!.close();
      failures.push(skipped(addresses[i]!, hello.reason, options));
    }
  });
  return connections.filter((_, i) => hellos[i]!.status === "fulfilled");
}

/** A connection to each address (nothing asked yet: the transport connects on the first call). */
export function connectionsTo(
  addresses: string[],
  options: ConnectOptions,
  defaults: MethodDefaults,
): ServerConnection[] {
  const security = options.security ?? {};
  const tls = transportTls(security);
  const metadata = callMetadata(security);
  return addresses.map(
    (address) =>
      new ServerConnection(address, {
        tls,
        metadata,
        defaults,
        transport: options.transport,
        cooldownMs: options.cooldownMs,
      }),
  );
}

/** A server that did not answer its Info: the warning, and its failure for noServerError. */
function skipped(address: string, reason: unknown, options: ConnectOptions): ClientError {
  const error = ClientError.from(reason, address);
  const { reason: why, tls } = connectFailure(error);
  options.onWarning?.(`skipping ${address}: ${error.codeName}: ${tls ? "TLS refused: " : ""}${why}`);
  return error;
}
