import { Registry } from "prom-client";
import { grpcTypeLabel } from "../../rpc/grpc-metric-labels.js";
import { GrpcSeries } from "../../rpc/grpc-series.js";
import { Status } from "../../rpc/grpc-status.js";
import type { ClientObserver } from "./client-observer.js";

/**
 * A pool's Prometheus registry (prom-client): the grpc_client_* series of go-grpc-prometheus,
 * with the same labels as the servers' grpc_server_* series. The program serves or pushes the
 * registry as it likes; Node's process metrics are its choice too (collectDefaultMetrics).
 */
export function clientMetrics(): { registry: Registry; observer: ClientObserver } {
  const registry = new Registry();
  const grpc = new GrpcSeries("client", registry);
  const observer: ClientObserver = {
    call(path, requestStream, responseStream) {
      const series = grpc.method(path, grpcTypeLabel(requestStream, responseStream));
      series.started++;
      const from = performance.now();
      let ended = false;
      return {
        sent: () => {
          series.sent++;
        },
        received: () => {
          series.received++;
        },
        end(code) {
          if (ended) return;
          ended = true;
          series.end(code, (performance.now() - from) / 1000);
        },
      };
    },
    batchItem(path, code, seconds) {
      const series = grpc.method(path, "unary");
      series.started++;
      series.sent++;
      if (code === Status.OK) series.received++;
      series.end(code, seconds);
    },
  };
  return { registry, observer };
}
