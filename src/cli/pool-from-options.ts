import { existsSync, readFileSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { lessonMethodDefaults } from "../lesson/client/lesson-methods.js";
import type { PoolEvent } from "../pool/outcome.js";
import { Pool } from "../pool/pool.js";
import { type ClientSecurity, readTokenFile, transportTls } from "../rpc/client-credentials.js";
import { say } from "./output.js";
import { UsageError } from "./run-program.js";

/** Options every client command shares. */
export interface CommonOptions {
  servers?: string;
  local?: number;
  json?: boolean;
  retries?: number;
  /** --priority: this command's calls before this client's others on each server (docs/scheduling.md). */
  priority?: number;
  /** --client-name: the name the servers count this command's calls under (rpcpool-client). */
  clientName?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tokenFile?: string;
  resolveEveryMs?: number;
  /** --require and --prefer KEY=VALUE, gathered: the pool's defaults for every run. */
  require?: Record<string, string>;
  prefer?: Record<string, string>;
}

const hostPort = /^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):(\d{1,5})$/;
const dnsTarget = /^dns:(\/\/[^/]*)?\/([^/:]+|\[[^\]]+\]):(\d{1,5})$/;

/**
 * --servers: a comma list of HOST:PORT and dns:///name:port targets, or the path of a file of them
 * (one a line; blank lines and # comments skipped). A value that is neither a target nor a file
 * says which it is not; a port outside 1..65535 is a usage error, not a server to try.
 */
export function parseServerList(value: string): string[] {
  const looksLikeTargets = value.includes(",") || hostPort.test(value.trim()) || value.startsWith("dns:");
  const fromFile = !looksLikeTargets;
  let items: string[];
  if (fromFile) {
    if (!existsSync(value)) {
      throw (
        urlRefusal(value, "", "--servers ") ??
        new UsageError(`--servers: "${value}" is not HOST:PORT, dns:///NAME:PORT, nor a file (no such file)`)
      );
    }
    if (!statSync(value).isFile()) throw new UsageError(`--servers: ${value} is not a file`);
    items = readFileSync(value, "utf8")
      .split(/\r?\n/)
      .map((line) => line.replace(/#.*/, ""));
  } else items = value.split(",");
  const targets = items.map((item) => item.trim()).filter((item) => item !== "");
  if (targets.length === 0) {
    throw new UsageError(
      fromFile ? `--servers: ${value} lists no server` : "--servers needs at least one HOST:PORT",
    );
  }
  for (const target of targets) {
    const match = target.startsWith("dns:") ? dnsTarget.exec(target) : hostPort.exec(target);
    const where = fromFile ? ` (in ${value})` : "";
    if (!match) {
      throw (
        urlRefusal(target, where, "") ??
        new UsageError(`--servers: "${target}"${where} is not HOST:PORT or dns:///NAME:PORT`)
      );
    }
    const port = Number(match[match.length - 1]);
    if (port < 1 || port > 65535) {
      throw new UsageError(`--servers: "${target}"${where}: the port must be from 1 to 65535`);
    }
  }
  return targets;
}

/**
 * A URL given for a server (`http://10.0.0.5:50051`, as a browser's address bar has it) refused
 * with what to write instead, `suggest` before it; undefined for anything else. gRPC's scheme is
 * no part of --servers (TLS is --tls-ca).
 */
function urlRefusal(target: string, where: string, suggest: string): UsageError | undefined {
  const rest = /^(?:https?|grpcs?):\/\/([^/]+)\/?$/i.exec(target.trim())?.[1];
  if (rest === undefined || !hostPort.test(rest)) return undefined;
  return new UsageError(
    `--servers: "${target}"${where} is a URL, not HOST:PORT: drop the scheme, ${suggest}${rest}`,
  );
}

/** TLS files and the token from the flags; a token file that cannot be read is a usage error. */
export function clientSecurity(options: CommonOptions): ClientSecurity {
  try {
    return {
      tlsCa: options.tlsCa,
      tlsCert: options.tlsCert,
      tlsKey: options.tlsKey,
      token: options.tokenFile ? readTokenFile(options.tokenFile) : undefined,
    };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * The pool a command runs on: the servers named by --servers, or else local servers on loopback
 * that live as long as the command (the embedded default).
 */
export async function poolFromOptions(
  options: CommonOptions,
  onEvent?: (event: PoolEvent) => void,
  local: { processes?: boolean; pipeline?: boolean } = {},
): Promise<Pool> {
  const onWarning = (message: string) => say(`warning: ${message}`);
  const security = clientSecurity(options);
  if (options.servers !== undefined) {
    try {
      transportTls(security);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    return Pool.connect(parseServerList(options.servers), {
      onWarning,
      onEvent,
      retries: options.retries,
      priority: options.priority,
      clientName: options.clientName,
      security,
      resolveEveryMs: options.resolveEveryMs,
      require: options.require,
      prefer: options.prefer,
      methods: lessonMethodDefaults,
      // A command of one small call sends it behind the servers' Info, not after it (ConnectOptions.pipeline).
      pipeline: local.pipeline,
    });
  }
  if (security.tlsCa || security.tlsCert || security.token) {
    onWarning("TLS and token options apply to --servers; local servers run on loopback without them");
  }
  return Pool.local({
    servers: options.local ?? availableParallelism(),
    // Commands that measure a speed-up start processes: servers in this process share its event
    // loop, so the parallel run overlapped work the sequential run did in turn (E came out above 1).
    start: local.processes ? undefined : inProcessServers,
    onWarning,
    onEvent,
    retries: options.retries,
    require: options.require,
    prefer: options.prefer,
    priority: options.priority,
    clientName: options.clientName,
    methods: lessonMethodDefaults,
  });
}

/**
 * The embedded default's servers, hosted in this process (src/cli/in-process-servers.ts). Loaded
 * by URL, only here: a command given --servers never loads the host's code (nor grpc-js), and the
 * build bundles that module on its own.
 */
async function inProcessServers(count: number, workers: number) {
  const module: typeof import("./in-process-servers.js") = await import(
    new URL("./in-process-servers.js", import.meta.url).href
  );
  return module.inProcessServers(count, workers);
}

/** --priority and --client-name as the metadata a pool sends them in (docs/scheduling.md), for one-server calls. */
export function schedulingMetadata(options: CommonOptions): Record<string, string> | undefined {
  const metadata: Record<string, string> = {};
  if (options.clientName) metadata["rpcpool-client"] = options.clientName;
  if (options.priority) metadata["rpcpool-priority"] = String(options.priority);
  return Object.keys(metadata).length > 0 ? metadata : undefined;
}
