import { Client, type MethodDefinition } from "@grpc/grpc-js";
import type { CallControls } from "./call-options.js";
import type { ServerConnection } from "./server-connection.js";
import { unaryCall } from "./unary-call.js";

// One generic client per server connection, on the connection's own channel.
const clients = new WeakMap<ServerConnection, Client>();

function clientFor(server: ServerConnection): Client {
  let client = clients.get(server);
  if (!client) {
    client = new Client(server.address, null as never, { channelOverride: server.compute.getChannel() });
    clients.set(server, client);
  }
  return client;
}

/** Calls any unary method by its definition on one server, with deadline, AbortSignal and ClientErrors. */
export function genericUnaryCall<Req, Res>(
  server: ServerConnection,
  method: MethodDefinition<Req, Res>,
  request: Req,
  controls: CallControls,
  defaultTimeoutMs: number,
): Promise<Res> {
  const client = clientFor(server);
  return unaryCall<Req, Res>(
    (req, metadata, options, callback) =>
      client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        req,
        metadata,
        options,
        callback as never,
      ),
    request,
    server.metadata(),
    controls,
    defaultTimeoutMs,
    server.address,
  );
}
