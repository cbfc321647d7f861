import { availableParallelism } from "node:os";
import type { handleUnaryCall } from "@grpc/grpc-js";
import { Idempotency, type InfoRequest, type InfoResponse } from "../gen/rpcpool/pool/v1/info.js";
import type { Idempotency as MethodIdempotency } from "../rpc/method-spec.js";
import { version } from "../version.js";
import type { CallTracker } from "./call-tracker.js";
import { type HandlerDeps, unary } from "./handlers.js";
import type { ServerIdentity } from "./identity.js";
import type { MethodRegistry } from "./method-registry.js";

export interface InfoDeps {
  identity: ServerIdentity;
  tracker: CallTracker;
  registry: MethodRegistry;
  workers: number;
  maxMessageBytes: number;
  /** The server's labels (--label KEY=VALUE), which calls' requirements are matched against. */
  labels: Readonly<Record<string, string>>;
  /** Date.now() when the server started. */
  startedAt: number;
}

const idempotencyCodes: Record<MethodIdempotency, Idempotency> = {
  IDEMPOTENT: Idempotency.IDEMPOTENCY_IDEMPOTENT,
  NO_SIDE_EFFECTS: Idempotency.IDEMPOTENCY_NO_SIDE_EFFECTS,
  UNKNOWN: Idempotency.IDEMPOTENCY_UNSPECIFIED,
};

/**
 * What the server is and what it hosts, as a call sees it: the call asking is not counted among
 * the calls in flight (it is not work).
 */
export function hostInfo(deps: InfoDeps): InfoResponse {
  return {
    server: deps.identity.server,
    host: deps.identity.host,
    pid: deps.identity.pid,
    cores: availableParallelism(),
    workers: deps.workers,
    version,
    callsInFlight: Math.max(0, deps.tracker.inFlight - 1),
    callsTotal: deps.tracker.total,
    uptimeS: (Date.now() - deps.startedAt) / 1000,
    rssBytes: process.memoryUsage.rss(),
    // maxRSS is in kibibytes.
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    methods: deps.registry.all().map((method) => ({
      path: method.path,
      idempotency: idempotencyCodes[method.idempotency],
      clientStreaming: method.requestStream,
      serverStreaming: method.responseStream,
    })),
    maxMessageBytes: deps.maxMessageBytes,
    labels: { ...deps.labels },
  };
}

/** rpcpool.pool.v1.InfoService/Info: the pool asks it first on every server it connects to. */
export function infoHandler(
  deps: HandlerDeps,
  info: () => InfoResponse,
): handleUnaryCall<InfoRequest, InfoResponse> {
  return unary(deps, async () => info());
}
