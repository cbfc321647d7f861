import { type CallSpan, StatsServiceDefinition } from "../gen/rpcpool/pool/v1/stats.js";
import { Pool } from "../pool/pool.js";
import { type ClientSecurity, transportTls } from "../rpc/client-credentials.js";
import { methodsOf } from "../rpc/method-spec.js";
import { type CommonOptions, clientSecurity, parseServerList } from "./pool-from-options.js";
import { UsageError } from "./run-program.js";

const statsMethod = methodsOf(StatsServiceDefinition).stats;

/** One server as `top --json` prints it (docs/cli.md); `error` alone when it could not be asked. */
export interface ServerRow {
  address: string;
  name?: string;
  version?: string;
  uptimeSeconds?: number;
  labels?: Record<string, string>;
  workers?: number;
  workersBusy?: number;
  queuedTasks?: number;
  inFlight?: number;
  completed?: number;
  failed?: number;
  callsPerSecond?: number;
  p50Ms?: number;
  p95Ms?: number;
  storeBytes?: number;
  storeValues?: number;
  sessions?: number;
  sessionObjects?: number;
  methods?: Array<{ method: string; completed: number; failed: number; p50Ms: number; p95Ms: number }>;
  error?: string;
}

/** A row with the last minute's calls, for the dashboard's task stream (on the server's clock). */
export interface ServerSample extends ServerRow {
  recent?: CallSpan[];
  nowUnixMs?: number;
}

/**
 * Asks each server of --servers for its StatsService figures, again on every `sample()`. Each
 * target has a pool of its own, so that one that cannot be reached is a row saying so (a shared
 * pool skips it), and one that comes up later is asked on the next sample. A dns:/// target is
 * a row per server it names.
 */
export class StatsSource {
  readonly #targets: string[];
  readonly #security: ClientSecurity;
  readonly #pools = new Map<string, Pool>();

  constructor(options: CommonOptions) {
    if (options.servers === undefined) throw new UsageError("--servers is required: the servers to watch");
    this.#targets = parseServerList(options.servers);
    this.#security = clientSecurity(options);
    try {
      transportTls(this.#security);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }

  async sample(): Promise<ServerSample[]> {
    const rows = await Promise.all(this.#targets.map((target) => this.#sampleTarget(target)));
    return rows.flat();
  }

  async #sampleTarget(target: string): Promise<ServerSample[]> {
    let pool = this.#pools.get(target);
    if (!pool) {
      try {
        pool = await Pool.connect([target], { security: this.#security, onWarning: () => {}, retries: 0 });
      } catch (error) {
        return [{ address: target, error: firstLine(error) }];
      }
      this.#pools.set(target, pool);
    }
    return Promise.all(
      pool.servers.map(async (server): Promise<ServerSample> => {
        try {
          const s = await server.unary(statsMethod, {}, { timeoutMs: 3_000 });
          return {
            address: server.address,
            name: s.server,
            version: s.version,
            uptimeSeconds: Math.round(s.uptimeS * 10) / 10,
            labels: s.labels,
            workers: s.workers,
            workersBusy: s.workersBusy,
            queuedTasks: s.queuedTasks,
            inFlight: s.callsInFlight,
            completed: s.completed,
            failed: s.failed,
            callsPerSecond: s.callsPerSecond,
            p50Ms: s.p50Ms,
            p95Ms: s.p95Ms,
            storeBytes: s.storeBytes,
            storeValues: s.storeValues,
            sessions: s.sessions,
            sessionObjects: s.sessionObjects,
            methods: s.methods,
            recent: s.recent,
            nowUnixMs: s.nowUnixMs,
          };
        } catch (error) {
          return { address: server.address, error: firstLine(error) };
        }
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((pool) => pool.close()));
    this.#pools.clear();
  }
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split("\n")[0]!;
}

/** A row without the task stream: what `top --json` prints. */
export function withoutSpans({ recent: _recent, nowUnixMs: _now, ...row }: ServerSample): ServerRow {
  return row;
}
