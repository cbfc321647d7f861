import {
  Metadata,
  Server,
  ServerCredentials,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import {
  type EchoStatus,
  type Empty,
  type ResponseParameters,
  type SimpleRequest,
  type SimpleResponse,
  type StreamingInputCallRequest,
  type StreamingInputCallResponse,
  type StreamingOutputCallRequest,
  type StreamingOutputCallResponse,
  TestServiceService,
} from "../gen/grpc/testing/test.js";

/**
 * gRPC's interop test server (doc/interop-test-descriptions.md, "Server"), on @grpc/grpc-js
 * directly and not on rpcpool's host: an independent server for the client transports' interop
 * tests. UnimplementedCall and UnimplementedService are left out, so they answer UNIMPLEMENTED.
 */
export async function startInteropServer(): Promise<{ address: string; close(): Promise<void> }> {
  const server = new Server();
  server.addService(TestServiceService, {
    emptyCall: (call: ServerUnaryCall<Empty, Empty>, done: sendUnaryData<Empty>) => {
      echoInitial(call);
      done(null, {}, echoTrailing(call.metadata));
    },
    unaryCall: (
      call: ServerUnaryCall<SimpleRequest, SimpleResponse>,
      done: sendUnaryData<SimpleResponse>,
    ) => {
      echoInitial(call);
      const request = call.request;
      if (request.expectCompressed?.value && !compressed(call.metadata)) {
        done({ code: status.INVALID_ARGUMENT, details: "expected a compressed request" });
        return;
      }
      const failure = statusOf(request.responseStatus, call.metadata);
      if (failure) return done(failure);
      done(
        null,
        { payload: payload(request.responseSize), username: "", oauthScope: "" },
        echoTrailing(call.metadata),
      );
    },
    streamingOutputCall: async (
      call: ServerWritableStream<StreamingOutputCallRequest, StreamingOutputCallResponse>,
    ) => {
      echoInitial(call);
      for (const parameters of call.request.responseParameters) {
        if (call.cancelled) return;
        await pause(parameters);
        call.write({ payload: payload(parameters.size) });
      }
      const failure = statusOf(call.request.responseStatus, call.metadata);
      if (failure) call.emit("error", failure);
      else call.end(echoTrailing(call.metadata));
    },
    streamingInputCall: async (
      call: ServerReadableStream<StreamingInputCallRequest, StreamingInputCallResponse>,
      done: sendUnaryData<StreamingInputCallResponse>,
    ) => {
      let size = 0;
      try {
        for await (const request of call as AsyncIterable<StreamingInputCallRequest>) {
          if (request.expectCompressed?.value && !compressed(call.metadata)) {
            done({ code: status.INVALID_ARGUMENT, details: "expected a compressed request" });
            return;
          }
          size += request.payload?.body.length ?? 0;
        }
      } catch {
        return; // cancelled by the client
      }
      done(null, { aggregatedPayloadSize: size });
    },
    fullDuplexCall: (call: ServerDuplexStream<StreamingOutputCallRequest, StreamingOutputCallResponse>) => {
      echoInitial(call);
      // Each request's replies in order: a chain, as a reply may wait its interval.
      let chain = Promise.resolve();
      let failed = false;
      call.on("data", (request: StreamingOutputCallRequest) => {
        chain = chain.then(async () => {
          if (failed || call.cancelled) return;
          const failure = statusOf(request.responseStatus, call.metadata);
          if (failure) {
            failed = true;
            call.emit("error", failure);
            return;
          }
          for (const parameters of request.responseParameters) {
            await pause(parameters);
            call.write({ payload: payload(parameters.size) });
          }
        });
      });
      call.on("end", () => {
        chain = chain.then(() => {
          if (!failed && !call.cancelled) call.end(echoTrailing(call.metadata));
        });
      });
      call.on("error", () => {});
    },
    halfDuplexCall: (call: ServerDuplexStream<StreamingOutputCallRequest, StreamingOutputCallResponse>) => {
      // Every reply after the last request.
      const requests: StreamingOutputCallRequest[] = [];
      call.on("data", (request: StreamingOutputCallRequest) => requests.push(request));
      call.on("end", () => {
        for (const request of requests) {
          for (const parameters of request.responseParameters)
            call.write({ payload: payload(parameters.size) });
        }
        call.end();
      });
      call.on("error", () => {});
    },
  } as never);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) =>
      error ? reject(error) : resolve(port),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000).unref();
      }),
  };
}

const payload = (size: number) => ({ type: 0, body: Buffer.alloc(size) });

const pause = (parameters: ResponseParameters) =>
  parameters.intervalUs > 0
    ? new Promise((resolve) => setTimeout(resolve, parameters.intervalUs / 1000))
    : Promise.resolve();

/** Whether the client compressed its messages (the call's grpc-encoding). */
function compressed(metadata: Metadata): boolean {
  const encoding = metadata.get("grpc-encoding")[0];
  return encoding !== undefined && encoding !== "identity";
}

/** The status a request asks for (EchoStatus), with the echoed trailing metadata. */
function statusOf(echo: EchoStatus | undefined, metadata: Metadata) {
  if (!echo || echo.code === 0) return undefined;
  return { code: echo.code, details: echo.message, metadata: echoTrailing(metadata) };
}

/** custom_metadata: x-grpc-test-echo-initial goes back in the reply headers. */
function echoInitial(call: { metadata: Metadata; sendMetadata(metadata: Metadata): void }): void {
  const value = call.metadata.get("x-grpc-test-echo-initial")[0];
  if (value === undefined) return;
  const initial = new Metadata();
  initial.set("x-grpc-test-echo-initial", value);
  call.sendMetadata(initial);
}

/** custom_metadata: x-grpc-test-echo-trailing-bin goes back in the trailers. */
function echoTrailing(metadata: Metadata): Metadata {
  const trailing = new Metadata();
  const value = metadata.get("x-grpc-test-echo-trailing-bin")[0];
  if (value !== undefined) trailing.set("x-grpc-test-echo-trailing-bin", value);
  return trailing;
}
