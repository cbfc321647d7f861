import { Registry } from "prom-client";
import { grpcTypeLabel } from "../../rpc/grpc-metric-labels.js";
import { GrpcSeries, type MethodSeries } from "../../rpc/grpc-series.js";
import type { CallMeter, ClientObserver } from "./client-observer.js";

/**
 * A pool's Prometheus registry (prom-client): the grpc_client_* series of go-grpc-prometheus,
 * with the same labels as the servers' grpc_server_* series. The program serves or pushes the
 * registry as it likes; Node's process metrics are its choice too (collectDefaultMetrics).
 */
export function clientMetrics(): { registry: Registry; observer: ClientObserver } {
  const registry = new Registry();
  const grpc = new GrpcSeries("client", registry);
  const observer: ClientObserver = {
    call: (path, requestStream, responseStream) =>
      new SeriesMeter(grpc.method(path, grpcTypeLabel(requestStream, responseStream))),
    batch: (path) => grpc.method(path, "unary"),
  };
  return { registry, observer };
}

/** One call's meter: one object per call, no closures (the pool makes one per round trip). */
class SeriesMeter implements CallMeter {
  readonly #from = performance.now();
  #ended = false;

  constructor(private readonly series: MethodSeries) {
    series.started++;
  }

  sent(): void {
    this.series.sent++;
  }
  received(): void {
    this.series.received++;
  }
  end(code: number): void {
    if (this.#ended) return;
    this.#ended = true;
    this.series.end(code, (performance.now() - this.#from) / 1000);
  }
}
