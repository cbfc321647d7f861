import type { Deadline, Metadata, ServerInterceptingCallInterface } from "@grpc/grpc-js";
import type { MethodSeries } from "../../rpc/grpc-series.js";
import { Status } from "../../rpc/grpc-status.js";

// grpc-js does not export these from its index: named from the interface they come from.
type Call = ServerInterceptingCallInterface;
type InterceptingServerListener = Parameters<Call["start"]>[0];
type PartialStatusObject = Parameters<Call["sendStatus"]>[0];
type AuthContext = ReturnType<Call["getAuthContext"]>;
type ConnectionInfo = ReturnType<Call["getConnectionInfo"]>;
type MetricRecorder = ReturnType<Call["getMetricsRecorder"]>;

/**
 * One call as the metrics' interceptor hands it on: the call below and the listener above in one
 * object, which counts what passes and ends the call's figures once. grpc-js's own
 * ServerInterceptingCall with a ResponderBuilder and a ServerListenerBuilder makes about fifteen
 * objects and closures per call and adds a layer of callbacks to every event; this is one object
 * whose methods hand each event straight on (nothing here waits, so none of grpc-js's queueing of
 * a message behind metadata is needed).
 */
export class MeteredCall implements ServerInterceptingCallInterface, InterceptingServerListener {
  readonly #from = performance.now();
  #listener: InterceptingServerListener | undefined;
  #ended = false;

  constructor(
    private readonly call: ServerInterceptingCallInterface,
    private readonly series: MethodSeries,
  ) {
    series.started++;
  }

  #end(code: number): void {
    if (this.#ended) return;
    this.#ended = true;
    this.series.end(code, (performance.now() - this.#from) / 1000);
  }

  // The call, as the interceptors above (and the handler) see it.
  start(listener: InterceptingServerListener): void {
    this.#listener = listener;
    this.call.start(this);
  }
  sendMetadata(metadata: Metadata): void {
    this.call.sendMetadata(metadata);
  }
  sendMessage(message: unknown, callback: () => void): void {
    this.series.sent++;
    this.call.sendMessage(message, callback);
  }
  sendStatus(status: PartialStatusObject): void {
    this.#end(status.code);
    this.call.sendStatus(status);
  }
  startRead(): void {
    this.call.startRead();
  }
  getPeer(): string {
    return this.call.getPeer();
  }
  getDeadline(): Deadline {
    return this.call.getDeadline();
  }
  getHost(): string {
    return this.call.getHost();
  }
  getAuthContext(): AuthContext {
    return this.call.getAuthContext();
  }
  getConnectionInfo(): ConnectionInfo {
    return this.call.getConnectionInfo();
  }
  getMetricsRecorder(): MetricRecorder {
    return this.call.getMetricsRecorder();
  }

  // The listener, as the call below sees it.
  onReceiveMetadata(metadata: Metadata): void {
    this.#listener!.onReceiveMetadata(metadata);
  }
  onReceiveMessage(message: unknown): void {
    this.series.received++;
    this.#listener!.onReceiveMessage(message);
  }
  onReceiveHalfClose(): void {
    this.#listener!.onReceiveHalfClose();
  }
  /** A call the client cancelled (or whose deadline passed) gets no status of its own. */
  onCancel(): void {
    this.#end(Status.CANCELLED);
    this.#listener!.onCancel();
  }
}
