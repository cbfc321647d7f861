import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { ClientError } from "../rpc/client-error.js";
import { Status } from "../rpc/grpc-status.js";
import type { MethodSpec } from "../rpc/method-spec.js";
import type { DuplexCall } from "./transport/transport.js";

/**
 * A client of gRPC server reflection (grpc.reflection.v1.ServerReflection/ServerReflectionInfo, or
 * v1alpha where a server has only that):
 * the services a server offers, and the .proto files (as serialized FileDescriptorProtos) that
 * describe a symbol, with every file they import. What grpcurl does to call a method it has no
 * .proto for; `rpcpool call` and `rpcpool map` do the same.
 *
 * The reflection messages are few and small, so their wire form is written here by hand (with
 * @bufbuild/protobuf's binary reader and writer) rather than generated from reflection.proto.
 */

/** One request of the reflection stream: which question it asks. */
export type ReflectionRequest =
  | { fileContainingSymbol: string }
  | { fileByFilename: string }
  | { listServices: true };

/** One reply: files, service names, or the server's error for the question. */
export type ReflectionReply =
  | { files: Uint8Array[] }
  | { services: string[] }
  | { error: { code: number; message: string } }
  | { other: true };

/** Anything that opens a stream both ways to one server (a pool's PoolServer does). */
export interface DuplexCaller {
  duplex<Req, Res>(method: MethodSpec<Req, Res>, options?: { timeoutMs?: number }): DuplexCall<Req, Res>;
}

function encodeRequest(request: ReflectionRequest): Buffer {
  const writer = new BinaryWriter();
  if ("fileByFilename" in request) writer.tag(3, WireType.LengthDelimited).string(request.fileByFilename);
  else if ("fileContainingSymbol" in request) {
    writer.tag(4, WireType.LengthDelimited).string(request.fileContainingSymbol);
  } else writer.tag(7, WireType.LengthDelimited).string("*");
  return Buffer.from(writer.finish());
}

function decodeReply(bytes: Uint8Array): ReflectionReply {
  const reader = new BinaryReader(bytes);
  let reply: ReflectionReply = { other: true };
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 4 && wireType === WireType.LengthDelimited) {
      // FileDescriptorResponse { repeated bytes file_descriptor_proto = 1; }
      const inner = new BinaryReader(reader.bytes());
      const files: Uint8Array[] = [];
      while (inner.pos < inner.len) {
        const [f, t] = inner.tag();
        if (f === 1 && t === WireType.LengthDelimited) files.push(inner.bytes());
        else inner.skip(t, f);
      }
      reply = { files };
    } else if (field === 6 && wireType === WireType.LengthDelimited) {
      // ListServiceResponse { repeated ServiceResponse service = 1; } ServiceResponse { string name = 1; }
      const inner = new BinaryReader(reader.bytes());
      const services: string[] = [];
      while (inner.pos < inner.len) {
        const [f, t] = inner.tag();
        if (f !== 1 || t !== WireType.LengthDelimited) {
          inner.skip(t, f);
          continue;
        }
        const service = new BinaryReader(inner.bytes());
        while (service.pos < service.len) {
          const [sf, st] = service.tag();
          if (sf === 1 && st === WireType.LengthDelimited) services.push(service.string());
          else service.skip(st, sf);
        }
      }
      reply = { services };
    } else if (field === 7 && wireType === WireType.LengthDelimited) {
      // ErrorResponse { int32 error_code = 1; string error_message = 2; }
      const inner = new BinaryReader(reader.bytes());
      const error = { code: Status.UNKNOWN as number, message: "" };
      while (inner.pos < inner.len) {
        const [f, t] = inner.tag();
        if (f === 1 && t === WireType.Varint) error.code = inner.int32();
        else if (f === 2 && t === WireType.LengthDelimited) error.message = inner.string();
        else inner.skip(t, f);
      }
      reply = { error };
    } else reader.skip(wireType, field);
  }
  return reply;
}

function reflectionMethod(version: "v1" | "v1alpha"): MethodSpec<ReflectionRequest, ReflectionReply> {
  return {
    name: "serverReflectionInfo",
    path: `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
    originalName: "ServerReflectionInfo",
    requestStream: true,
    responseStream: true,
    requestSerialize: encodeRequest,
    requestDeserialize: () => {
      throw new Error("a reflection client does not read requests");
    },
    responseSerialize: () => {
      throw new Error("a reflection client does not write replies");
    },
    responseDeserialize: decodeReply,
    idempotency: "NO_SIDE_EFFECTS",
  };
}

/**
 * One reflection stream to a server: questions asked one at a time, each answered in turn (the
 * protocol answers in order). Close it when done.
 */
export class ReflectionClient {
  readonly #server: DuplexCaller;
  readonly #timeoutMs: number;
  #version: "v1" | "v1alpha" = "v1";
  #answered = false;
  #call: DuplexCall<ReflectionRequest, ReflectionReply>;
  #replies: AsyncIterator<ReflectionReply>;

  constructor(server: DuplexCaller, options: { timeoutMs?: number } = {}) {
    this.#server = server;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    [this.#call, this.#replies] = this.#open();
  }

  #open(): [DuplexCall<ReflectionRequest, ReflectionReply>, AsyncIterator<ReflectionReply>] {
    const call = this.#server.duplex(reflectionMethod(this.#version), { timeoutMs: this.#timeoutMs });
    return [call, call.replies[Symbol.asyncIterator]()];
  }

  /**
   * One question and its answer. A server that has only the older grpc.reflection.v1alpha (the
   * same messages; many servers of other languages still) is asked that way instead.
   */
  async ask(request: ReflectionRequest): Promise<ReflectionReply> {
    try {
      return await this.#ask(request);
    } catch (error) {
      if (this.#answered || this.#version !== "v1") throw error;
      if (!(error instanceof ClientError) || error.code !== Status.UNIMPLEMENTED) throw error;
      this.#call.cancel();
      this.#version = "v1alpha";
      [this.#call, this.#replies] = this.#open();
      return this.#ask(request);
    }
  }

  async #ask(request: ReflectionRequest): Promise<ReflectionReply> {
    await this.#call.send(request);
    const next = await this.#replies.next();
    if (next.done) throw new ClientError(Status.UNAVAILABLE, "the server ended its reflection stream");
    this.#answered = true;
    return next.value;
  }

  /** The full names of the services the server offers. */
  async listServices(): Promise<string[]> {
    const reply = await this.ask({ listServices: true });
    if ("services" in reply) return reply.services;
    throw replyError(reply, "list services");
  }

  /**
   * The serialized FileDescriptorProtos of the file that defines `symbol` and of every file it
   * imports, directly or not (asked for by name when the server did not send them along), or
   * undefined when the server knows no such symbol.
   */
  async filesFor(symbol: string): Promise<Map<string, Uint8Array> | undefined> {
    const reply = await this.ask({ fileContainingSymbol: symbol });
    if ("error" in reply && reply.error.code === Status.NOT_FOUND) return undefined;
    if (!("files" in reply)) throw replyError(reply, `describe ${symbol}`);
    const files = new Map<string, Uint8Array>();
    const wanted: string[] = [];
    const add = (bytes: Uint8Array) => {
      const { name, dependencies } = fileHeader(bytes);
      if (files.has(name)) return;
      files.set(name, bytes);
      wanted.push(...dependencies);
    };
    for (const bytes of reply.files) add(bytes);
    for (let name = wanted.pop(); name !== undefined; name = wanted.pop()) {
      if (files.has(name)) continue;
      const more = await this.ask({ fileByFilename: name });
      if (!("files" in more)) throw replyError(more, `get ${name}`);
      for (const bytes of more.files) add(bytes);
    }
    return files;
  }

  close(): void {
    this.#call.end();
    this.#call.cancel();
  }
}

function replyError(reply: ReflectionReply, what: string): ClientError {
  if ("error" in reply) {
    return new ClientError(reply.error.code, `reflection: ${what}: ${reply.error.message}`);
  }
  return new ClientError(Status.INTERNAL, `reflection: ${what}: the server answered something else`);
}

/** A FileDescriptorProto's name (field 1) and imports (field 3), read without decoding the rest. */
function fileHeader(bytes: Uint8Array): { name: string; dependencies: string[] } {
  const reader = new BinaryReader(bytes);
  let name = "";
  const dependencies: string[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) name = reader.string();
    else if (field === 3 && wireType === WireType.LengthDelimited) dependencies.push(reader.string());
    else reader.skip(wireType, field);
  }
  return { name, dependencies };
}
