import { Counter, Histogram, Registry } from "prom-client";
import { grpcCodeLabel, grpcPathLabels, grpcTypeLabel } from "../../rpc/grpc-metric-labels.js";
import type { ClientObserver } from "./client-observer.js";

/**
 * A pool's Prometheus registry (prom-client): the grpc_client_* series of go-grpc-prometheus,
 * with the same labels as the servers' grpc_server_* series. The program serves or pushes the
 * registry as it likes; Node's process metrics are its choice too (collectDefaultMetrics).
 */
export function clientMetrics(): { registry: Registry; observer: ClientObserver } {
  const registry = new Registry();
  const registers = [registry];
  const labelNames = ["grpc_service", "grpc_method", "grpc_type"] as const;
  const started = new Counter({
    name: "grpc_client_started_total",
    help: "Total number of RPCs started on the client.",
    labelNames,
    registers,
  });
  const handled = new Counter({
    name: "grpc_client_handled_total",
    help: "Total number of RPCs completed by the client, regardless of success or failure.",
    labelNames: [...labelNames, "grpc_code"],
    registers,
  });
  const handling = new Histogram({
    name: "grpc_client_handling_seconds",
    help: "Histogram of response latency (seconds) of the gRPC until it is finished by the application.",
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const received = new Counter({
    name: "grpc_client_msg_received_total",
    help: "Total number of RPC stream messages received by the client.",
    labelNames,
    registers,
  });
  const sent = new Counter({
    name: "grpc_client_msg_sent_total",
    help: "Total number of gRPC stream messages sent by the client.",
    labelNames,
    registers,
  });
  const observer: ClientObserver = {
    call(path, requestStream, responseStream) {
      const labels = { ...grpcPathLabels(path), grpc_type: grpcTypeLabel(requestStream, responseStream) };
      started.inc(labels);
      const from = performance.now();
      let ended = false;
      return {
        sent: () => sent.inc(labels),
        received: () => received.inc(labels),
        end(code) {
          if (ended) return;
          ended = true;
          handled.inc({ ...labels, grpc_code: grpcCodeLabel(code) });
          handling.observe(labels, (performance.now() - from) / 1000);
        },
      };
    },
    batchItem(path, code, seconds) {
      const labels = { ...grpcPathLabels(path), grpc_type: "unary" };
      started.inc(labels);
      handled.inc({ ...labels, grpc_code: grpcCodeLabel(code) });
      handling.observe(labels, seconds);
      sent.inc(labels);
      if (code === 0) received.inc(labels);
    },
  };
  return { registry, observer };
}
