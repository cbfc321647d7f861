import { type ChannelCredentials, type ChannelOptions, credentials, Metadata } from "@grpc/grpc-js";
import type { ComputeServiceClient } from "../gen/rpcpool/compute/v1/compute.js";
import { DemoServiceClient, type InfoResponse } from "../gen/rpcpool/compute/v1/demo.js";
import { FastComputeServiceClient } from "../lesson/compute-definition.js";
import type { CallControls } from "./call-options.js";
import { unaryCall } from "./unary-call.js";

/** Channel settings: keepalive notices a dead peer during a long call instead of waiting forever. */
export const channelOptions: ChannelOptions = {
  "grpc.max_receive_message_length": 64 << 20,
  "grpc.max_send_message_length": 64 << 20,
  "grpc.keepalive_time_ms": 10_000,
  "grpc.keepalive_timeout_ms": 5_000,
  "grpc.keepalive_permit_without_calls": 1,
};

/** One compute server: a channel to it, its clients, and what it said of itself. */
export class ServerConnection {
  readonly compute: ComputeServiceClient;
  readonly demo: DemoServiceClient;
  info?: InfoResponse;
  /** Calls this client has in flight on the server, from every map and apply of the pool. */
  inFlight = 0;

  constructor(
    readonly address: string,
    channelCredentials: ChannelCredentials = credentials.createInsecure(),
    readonly metadata: () => Metadata = () => new Metadata(),
    extraChannelOptions: ChannelOptions = {},
  ) {
    // The fast table codec: the same bytes on the wire, fewer copies of each chunk.
    this.compute = new FastComputeServiceClient(address, channelCredentials, {
      ...channelOptions,
      ...extraChannelOptions,
    });
    // Both clients share one channel (one TCP connection).
    this.demo = new DemoServiceClient(address, channelCredentials, {
      channelOverride: this.compute.getChannel(),
    });
  }

  /** When a call on it last failed in a way that blames the server (UNAVAILABLE, CANCELLED). */
  lastFailureAt = Number.NEGATIVE_INFINITY;

  /**
   * How busy the server is from here: calls in flight per worker thread. A server that failed a
   * call in the last 5 s comes after every healthy one, so that calls stop knocking on a dead
   * server's door while it stays usable as a last resort.
   */
  get load(): number {
    const suspect = Date.now() - this.lastFailureAt < 5_000 ? 1e9 : 0;
    return suspect + this.inFlight / Math.max(1, this.info?.workers ?? 1);
  }

  /** The server's name as it stamps replies, or its address before it answered. */
  get name(): string {
    return this.info?.server || this.address;
  }

  /** Calls Info within the deadline: proves the server is up and learns its workers. */
  async hello(controls: CallControls = {}): Promise<InfoResponse> {
    this.info = await unaryCall(
      this.demo.info.bind(this.demo),
      {},
      this.metadata(),
      { timeoutMs: 5_000, ...controls },
      5_000,
      this.address,
    );
    return this.info;
  }

  close(): void {
    this.compute.close();
  }
}
