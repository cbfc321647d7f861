import type { ServerInterceptingCall, ServerInterceptor } from "@grpc/grpc-js";
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { grpcTypeLabel } from "../../rpc/grpc-metric-labels.js";
import { GrpcSeries } from "../../rpc/grpc-series.js";
import { MeteredCall } from "./metered-call.js";
import type { ServerObserver, ServerState } from "./server-observer.js";

/** What the queue worker tells the metrics (src/queue/queue-worker.ts's `observer`). */
export interface QueueObserver {
  /** A job of `method` was taken; `retaken` when its worker had died (BullMQ's stalled check). */
  taken(method: string, tasks: number, retaken: boolean): void;
  /** One task of the job ended: done (OK) or failed (any other status). */
  task(method: string, ok: boolean): void;
}

/** What the lesson's table calls tell the metrics: bytes and rows of table each call processed. */
export interface TableObserver {
  tableProcessed(bytes: number, rows: number): void;
}

export interface ServerMetrics {
  registry: Registry;
  observer: ServerObserver;
  queue: QueueObserver;
  tables: TableObserver;
}

/**
 * The server's Prometheus registry (prom-client): the standard grpc_server_* series named as
 * go-grpc-prometheus names them, rpcpool's own rpcpool_* series, and Node's process metrics.
 * One registry per server (no global state): two servers in one process keep their own figures.
 */
export function serverMetrics(): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const grpc = new GrpcSeries("server", registry);

  // One MeteredCall per call; the method's series found by its path (grpc-js hands the same
  // path string for every call of a method, so its hash is computed once). grpc-js's type asks
  // for its ServerInterceptingCall class, but it uses only the interface MeteredCall implements.
  const interceptor: ServerInterceptor = (method, call) =>
    new MeteredCall(
      call,
      grpc.method(method.path, grpcTypeLabel(method.requestStream, method.responseStream)),
    ) as unknown as ServerInterceptingCall;

  const queue = queueSeries(registry);
  const tables = tableSeries(registry);
  const observer: ServerObserver = {
    interceptor,
    batch: (path) => grpc.method(path, "unary"),
    attach: (state) => stateSeries(registry, state),
  };
  return { registry, observer, queue, tables };
}

/** The rpcpool_* series read from the server's own state on each scrape. */
function stateSeries(registry: Registry, state: ServerState): void {
  const registers = [registry];
  new Gauge({
    name: "rpcpool_calls_in_flight",
    help: "Calls in flight on the server, batch items included (bounded by --max-calls).",
    registers,
    collect() {
      this.set(state.callsInFlight());
    },
  });
  new Counter({
    name: "rpcpool_refusals_total",
    help: "Calls and connections refused, by the bound that refused them.",
    labelNames: ["limit"],
    registers,
    collect() {
      this.reset();
      for (const [limit, n] of Object.entries(state.refusals())) this.inc({ limit }, n);
    },
  });
  new Gauge({
    name: "rpcpool_worker_threads",
    help: "Worker threads of the server (--workers).",
    registers,
    collect() {
      this.set(state.workers);
    },
  });
  new Gauge({
    name: "rpcpool_worker_threads_busy",
    help: "Tasks running on the worker threads (beyond the threads when spare ones start for a waiting kind).",
    registers,
    collect() {
      this.set(state.workerTasksRunning());
    },
  });
  new Gauge({
    name: "rpcpool_worker_tasks_waiting",
    help: "Tasks waiting for a worker thread, by kind of work (module#export).",
    labelNames: ["kind"],
    registers,
    collect() {
      this.reset();
      for (const [kind, n] of state.workerTasksWaiting()) this.set({ kind }, n);
    },
  });
  new Gauge({
    name: "rpcpool_store_bytes",
    help: "Bytes held by the value store (values, arriving Puts and bookkeeping).",
    registers,
    collect() {
      this.set(state.store().bytes);
    },
  });
  new Gauge({
    name: "rpcpool_store_values",
    help: "Values held by the value store.",
    registers,
    collect() {
      this.set(state.store().values);
    },
  });
  new Counter({
    name: "rpcpool_store_evictions_total",
    help: "Values the store evicted to make room (least recently used first).",
    registers,
    collect() {
      this.reset();
      this.inc(state.store().evicted);
    },
  });
  new Gauge({
    name: "rpcpool_sessions_open",
    help: "Sessions open on the server.",
    registers,
    collect() {
      this.set(state.sessions().sessions);
    },
  });
  new Gauge({
    name: "rpcpool_remote_objects_open",
    help: "Remote objects alive in the server's sessions.",
    registers,
    collect() {
      this.set(state.sessions().objects);
    },
  });
  new Gauge({
    name: "rpcpool_connections_open",
    help: "Client connections open.",
    registers,
    collect() {
      this.set(state.connections());
    },
  });
}

function queueSeries(registry: Registry): QueueObserver {
  const registers = [registry];
  const labelNames = ["method"] as const;
  const taken = new Counter({
    name: "rpcpool_queue_jobs_taken_total",
    help: "Jobs this server took from the durable queue, by method.",
    labelNames,
    registers,
  });
  const tasksTaken = new Counter({
    name: "rpcpool_queue_tasks_taken_total",
    help: "Tasks this server took from the durable queue, by method.",
    labelNames,
    registers,
  });
  const retaken = new Counter({
    name: "rpcpool_queue_stalled_retaken_total",
    help: "Jobs taken again after the worker that held them died (BullMQ's stalled-job check).",
    labelNames,
    registers,
  });
  const done = new Counter({
    name: "rpcpool_queue_tasks_done_total",
    help: "Queued tasks this server ran to an OK outcome, by method.",
    labelNames,
    registers,
  });
  const failed = new Counter({
    name: "rpcpool_queue_tasks_failed_total",
    help: "Queued tasks this server ran to a failed outcome, by method.",
    labelNames,
    registers,
  });
  return {
    taken(method, tasks, again) {
      taken.inc({ method });
      tasksTaken.inc({ method }, tasks);
      if (again) retaken.inc({ method });
    },
    task(method, ok) {
      (ok ? done : failed).inc({ method });
    },
  };
}

function tableSeries(registry: Registry): TableObserver {
  const bytes = new Counter({
    name: "rpcpool_table_bytes_total",
    help: "Bytes of table the server's table calls processed.",
    registers: [registry],
  });
  const rows = new Counter({
    name: "rpcpool_table_rows_total",
    help: "Rows of table the server's table calls processed.",
    registers: [registry],
  });
  return {
    tableProcessed(b, r) {
      bytes.inc(b);
      rows.inc(r);
    },
  };
}
