import type { ClientSecurity } from "../rpc/client-credentials.js";
import type { MethodPolicy } from "../rpc/method-defaults.js";
import type { Labels } from "../rpc/server-labels.js";
import type { Lookup } from "./discovery.js";
import type { LocalServerOptions, StartedServer } from "./local-servers.js";
import type { PoolEvent } from "./outcome.js";
import type { TransportOptions } from "./transport/transport.js";

export interface ConnectOptions {
  /** TLS, mutual TLS and the bearer token. */
  security?: ClientSecurity;
  /** How often dns:/// targets are looked up again (default 30 s). */
  resolveEveryMs?: number;
  /** Name lookup for dns:/// targets (default: the system resolver). */
  lookup?: Lookup;
  /** Told of servers skipped at start. */
  onWarning?: (message: string) => void;
  /** Told of every run's events (each run's own `onEvent` hears its own too). */
  onEvent?: (event: PoolEvent) => void;
  /**
   * Labels every run of the pool requires of its servers (`--require`), e.g. `{ gpu: "1" }`; a
   * run's or service's own `require` adds to them, key by key (docs/scheduling.md).
   */
  require?: Labels;
  /** Labels the pool's runs prefer (`--prefer`): servers with them get tasks first while they have room. */
  prefer?: Labels;
  /** Attempts per task beyond the first, on other servers, for retryable work. Default 3. */
  retries?: number;
  /**
   * Default priority of this pool's runs and service calls (RunOptions.priority: higher first,
   * among this client's own work only; docs/scheduling.md). Default 0.
   */
  priority?: number;
  /**
   * The name this pool's calls give their client on the servers (`rpcpool-client` metadata): the
   * servers' turns and `--max-calls-per-client` count by it, across connections and pools. Default:
   * none, each connection is a client of its own.
   */
  clientName?: string;
  /**
   * Aging of this pool's priorities: a run held back by runs of higher priority for this many mean
   * task times goes first (default 8, as `rpcpool-server --max-priority-wait-factor`).
   */
  maxPriorityWaitFactor?: number;
  /** How long a server that failed is avoided before it gets work again (default 5 s, doubling while it keeps failing). */
  cooldownMs?: number;
  /** Per-method defaults by full path, over the defaults by call shape (see MethodDefaults). */
  methods?: Record<string, Partial<MethodPolicy>>;
  /** Connection settings over rpcpool's (keepalive as docs/limits.md says, replies up to 64 MiB). */
  transport?: Partial<Omit<TransportOptions, "tls">>;
  /**
   * `connect` returns at once instead of after every server's Info: the first calls go out on the
   * same connections right behind Info (one round trip less for a program that makes one call and
   * exits: the CLI's `circles` and `means`). Until its Info answers, a server counts one worker
   * thread, no labels (a run that requires labels waits for them) and hosts every method; a call it
   * fails before answering Info runs elsewhere as if never sent, and a server that never answers is
   * skipped with the same warning. When none answers, the runs fail with the error `connect` would
   * have thrown. Default false.
   */
  pipeline?: boolean;
}

export interface LocalPoolOptions extends ConnectOptions, LocalServerOptions {
  /** Local servers to start; default one per core. */
  servers?: number;
  /** Worker threads per local server; default 1 (the servers together use every core). */
  workersPerServer?: number;
  /**
   * How to start them; default: one rpcpool-server process each (startLocalServers). The CLI
   * hosts them in its own process instead (src/cli/in-process-servers.ts).
   */
  start?: (count: number, workersPerServer: number) => Promise<StartedServer[]>;
}
