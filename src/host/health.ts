import type { Server, ServerUnaryCall, ServerWritableStream, sendUnaryData } from "@grpc/grpc-js";
import {
  type HealthCheckRequest,
  type HealthCheckResponse,
  HealthDefinition,
  type HealthListRequest,
  type HealthListResponse,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../gen/health/v1/health.js";
import { grpcServiceOf } from "../rpc/method-spec.js";
import { Status } from "../rpc/status.js";

/** Most services `List` names before it answers RESOURCE_EXHAUSTED, as the grpc.health.v1 spec allows. */
const listLimit = 100;

type Watcher = (status: ServingStatus) => void;

/**
 * grpc.health.v1 for the whole server ("") and each named service; NOT_SERVING while draining.
 *
 * Our own, on the messages generated from the .proto that npm grpc-health-check ships, with that
 * package's behaviour (Check, Watch, List; an unknown service is NOT_FOUND for Check and
 * SERVICE_UNKNOWN for Watch, whose stream stays open). The package itself parses health.proto with
 * protobufjs when it is loaded: 45 ms of every server's start, and of every command without
 * --servers (docs/performance.md, "The embedded default's start").
 */
export class Health {
  readonly #statuses = new Map<string, ServingStatus>();
  readonly #watchers = new Map<string, Set<Watcher>>();

  constructor(readonly services: string[]) {
    for (const name of ["", ...services]) this.#statuses.set(name, ServingStatus.SERVING);
  }

  addToServer(server: Server): void {
    server.addService(grpcServiceOf(HealthDefinition), {
      check: (
        call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
        done: sendUnaryData<HealthCheckResponse>,
      ) => {
        const name = call.request.service;
        const status = this.#statuses.get(name);
        if (status === undefined)
          done({ code: Status.NOT_FOUND, details: `Health status unknown for service ${name}` });
        else done(null, { status });
      },
      watch: (call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
        const name = call.request.service;
        const watcher: Watcher = (status) => call.write({ status });
        this.#watch(name, watcher);
        call.on("cancelled", () => this.#unwatch(name, watcher));
        call.write({ status: this.#statuses.get(name) ?? ServingStatus.SERVICE_UNKNOWN });
      },
      list: (
        _call: ServerUnaryCall<HealthListRequest, HealthListResponse>,
        done: sendUnaryData<HealthListResponse>,
      ) => {
        if (this.#statuses.size > listLimit) {
          done({ code: Status.RESOURCE_EXHAUSTED, details: "Too many services to list." });
          return;
        }
        const statuses: HealthListResponse["statuses"] = {};
        for (const [name, status] of this.#statuses) statuses[name] = { status };
        done(null, { statuses });
      },
    });
  }

  drain(): void {
    for (const name of ["", ...this.services]) this.#set(name, ServingStatus.NOT_SERVING);
  }

  #set(name: string, status: ServingStatus): void {
    this.#statuses.set(name, status);
    for (const watcher of this.#watchers.get(name) ?? []) watcher(status);
  }

  #watch(name: string, watcher: Watcher): void {
    const set = this.#watchers.get(name) ?? new Set<Watcher>();
    set.add(watcher);
    this.#watchers.set(name, set);
  }

  /** The name goes with its last watcher: names are the client's to choose, and must not pile up. */
  #unwatch(name: string, watcher: Watcher): void {
    const set = this.#watchers.get(name);
    set?.delete(watcher);
    if (set?.size === 0) this.#watchers.delete(name);
  }
}
