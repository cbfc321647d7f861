import { ClientError } from "../rpc/client-error.js";
import { Status as status } from "../rpc/grpc-status.js";
import { checkLabels, formatLabels, type Labels } from "../rpc/server-labels.js";
import type { ServerConnection } from "./server-connection.js";

/**
 * Which servers a run may use by their labels, and in which order (docs/scheduling.md, "Labels,
 * requirements and preferences"). Kept apart from the engine: the engine asks it at every
 * dispatch, against the servers of the pool at that moment, so a server that joins through
 * discovery with the labels gets work, and one that leaves stops getting it.
 */
export interface LabelRules {
  /** Every pair must be among a server's labels, or it gets none of the run's tasks. */
  require?: Labels;
  /** Servers with more of these pairs get tasks first, while they have room; none is excluded. */
  prefer?: Labels;
}

/** The run's rules over the pool's defaults: a key the call gives replaces the pool's. */
export function mergeRules(pool: LabelRules, call: LabelRules): LabelRules {
  // No pair at all is no rule (an empty `require` matches every server, and names nothing).
  const merge = (a?: Labels, b?: Labels) => {
    const merged = { ...a, ...b };
    return Object.keys(merged).length > 0 ? checkRules(merged) : undefined;
  };
  return { require: merge(pool.require, call.require), prefer: merge(pool.prefer, call.prefer) };
}

/** A bad key is the caller's mistake: INVALID_ARGUMENT, not a requirement no server meets. */
function checkRules(labels: Labels): Labels {
  try {
    return checkLabels(labels);
  } catch (error) {
    throw new ClientError(status.INVALID_ARGUMENT, (error as Error).message);
  }
}

/** A server's labels, from its Info (a plain gRPC server has none). */
export function labelsOf(server: ServerConnection): Labels {
  return server.info?.labels ?? {};
}

/** Whether `labels` holds every pair of `require`. */
export function meets(labels: Labels, require: Labels | undefined): boolean {
  if (!require) return true;
  for (const key in require) if (labels[key] !== require[key]) return false;
  return true;
}

/** How many pairs of `prefer` a server has: the engine gives tasks to higher ranks first. */
export function rank(labels: Labels, prefer: Labels | undefined): number {
  if (!prefer) return 0;
  let n = 0;
  for (const key in prefer) if (labels[key] === prefer[key]) n++;
  return n;
}

/**
 * The servers that meet `require`, those with more of `prefer` first (the pool's order otherwise):
 * where a command's sequential baseline or a session goes.
 */
export function matching<S extends ServerConnection>(servers: readonly S[], rules: LabelRules): S[] {
  const { require, prefer } = rules;
  const met = servers.filter((s) => meets(labelsOf(s), require));
  if (!prefer) return met;
  const ranks = new Map(met.map((s) => [s, rank(labelsOf(s), prefer)]));
  return met.sort((a, b) => ranks.get(b)! - ranks.get(a)!);
}

/**
 * No server of the pool (of those that host the method) has the required labels: an error now,
 * not a wait. It names the requirement and what every server has, so the typo or the missing
 * server is plain: `no server of the pool has gpu=1 (servers' labels: 127.0.0.1:5001 {zone=a})`.
 */
export function unmetError(
  require: Labels,
  servers: readonly ServerConnection[],
  method: string | undefined,
): ClientError {
  const wanted = Object.entries(require)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  const which = method ? ` that hosts ${method}` : "";
  const have = servers.map((s) => `${s.address} ${formatLabels(labelsOf(s))}`).join(", ");
  return new ClientError(
    status.FAILED_PRECONDITION,
    `no server of the pool${which} has ${wanted} (servers' labels: ${have || "no server"})`,
  );
}
