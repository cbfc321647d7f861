#!/usr/bin/env node
// The baseline of the per-call overhead figure: a bare grpc-js server in a process of its own,
// one unary method that echoes its request's bytes, no interceptor, no codec. Prints its port.
import { Server, ServerCredentials, type ServiceDefinition } from "@grpc/grpc-js";

export const echoService: ServiceDefinition = {
  ping: {
    path: "/bench.Echo/Ping",
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
};

if (process.argv[1]?.endsWith("bare-echo-server.js")) {
  const server = new Server();
  server.addService(echoService, {
    ping: (call: { request: Buffer }, callback: (error: null, reply: Buffer) => void) =>
      callback(null, call.request),
  });
  server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) => {
    if (error) throw error;
    process.stdout.write(`listening on 127.0.0.1:${port}\n`);
  });
  // Leaves with its parent.
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
}
