import { Client, type ClientDuplexStream, credentials } from "@grpc/grpc-js";
import {
  type OpenRequest,
  OpenRequest as OpenRequestCodec,
  type OpenResponse,
  OpenResponse as OpenResponseCodec,
} from "../../src/gen/rpcpool/pool/v1/session.js";

/**
 * A session spoken frame by frame over grpc-js, as any gRPC client could (docs/sessions.md, the
 * wire contract): for tests that misbehave as rpcpool's own client never does, e.g. by sending
 * frames it would refuse to send, or by no longer reading the server's frames (`stopReading`:
 * grpc-js then stops taking the stream's data, and HTTP/2 flow control holds the server back).
 */
export class RawSession {
  readonly #client: Client;
  readonly #stream: ClientDuplexStream<OpenRequest, OpenResponse>;
  readonly #frames: OpenResponse[] = [];
  #wake: (() => void) | undefined;
  readonly #onData = (frame: OpenResponse) => {
    this.#frames.push(frame);
    this.#wake?.();
  };
  /** How the stream ended, once it has (a grpc-js ServiceError, or undefined for OK). */
  ended: Promise<{ code: number; details: string }>;

  constructor(address: string) {
    this.#client = new Client(address, credentials.createInsecure());
    this.#stream = this.#client.makeBidiStreamRequest(
      "/rpcpool.pool.v1.SessionService/Open",
      (request: OpenRequest) => Buffer.from(OpenRequestCodec.encode(request).finish()),
      (bytes: Buffer) => OpenResponseCodec.decode(bytes),
    );
    this.ended = new Promise((resolve) => {
      this.#stream.on("error", (error: { code: number; details: string }) => resolve(error));
      this.#stream.on("status", (status: { code: number; details: string }) => resolve(status));
    });
    this.#stream.on("data", this.#onData);
  }

  send(frame: OpenRequest): void {
    this.#stream.write(frame);
  }

  /** The next frame the server sent that `pick` accepts (earlier ones are skipped). */
  async next(pick: (frame: OpenResponse) => boolean = () => true): Promise<OpenResponse> {
    for (;;) {
      const index = this.#frames.findIndex(pick);
      if (index >= 0) return this.#frames.splice(index, 1)[0]!;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  /** Frames received and not yet taken. */
  get pending(): number {
    return this.#frames.length;
  }

  /** Stops reading the server's frames: they stay in the server's (and the network's) buffers. */
  stopReading(): void {
    this.#stream.off("data", this.#onData);
    this.#stream.pause();
  }

  /** Reads again, each frame to `onFrame`. */
  readAgain(onFrame: (frame: OpenResponse) => void): void {
    this.#stream.on("data", onFrame);
    this.#stream.resume();
  }

  close(): void {
    this.#stream.cancel();
    this.#client.close();
  }
}
