import type { JsonValue, Message } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { connectFailureKind, noServerError } from "../pool/connect-failure.js";
import { Discovery } from "../pool/discovery.js";
import { type PoolServer, ServerConnection } from "../pool/server-connection.js";
import { callMetadata, transportTls } from "../rpc/client-credentials.js";
import { ClientError } from "../rpc/client-error.js";
import type { DescribedMethod } from "../rpc/described-method.js";
import { jsonErrorOffset } from "./json-error-offset.js";
import { flushLines, inputLines, writeLine } from "./json-lines.js";
import { commandMethod } from "./method-lookup.js";
import {
  type CommonOptions,
  clientSecurity,
  parseServerList,
  poolFromOptions,
  schedulingMetadata,
} from "./pool-from-options.js";
import { UsageError } from "./run-program.js";
import { noteTerminalStdin } from "./terminal-stdin.js";

/** Options of `call` and `map`: where the method's descriptors come from, and how replies print. */
export interface DescribedCallOptions extends CommonOptions {
  proto?: string[];
  importPath?: string[];
  pretty?: boolean;
  emitDefaults?: boolean;
  timeoutMs?: number;
}

/**
 * A request from one JSON text through the proto3 JSON mapping. Text that is not JSON, or JSON
 * that does not fit the message (an unknown field, a string for a number), is a UsageError
 * naming the problem; `where` says which input it was ("texts.jsonl: line 12"), and a JSON
 * syntax error its column too (V8 says the position).
 */
export function requestOf(method: DescribedMethod, text: string, where = "the request"): Message {
  let json: JsonValue;
  try {
    json = JSON.parse(text) as JsonValue;
  } catch (error) {
    const message = (error as Error).message;
    // V8's own position where it gives one; else where the scan finds the first mistake.
    const position = /at position (\d+)/.exec(message)?.[1] ?? jsonErrorOffset(text);
    const column = position === undefined ? "" : `, column ${Number(position) + 1}`;
    throw new UsageError(`${where}${column}: not JSON: ${message}`);
  }
  try {
    return method.requestFromJson(json);
  } catch (error) {
    throw new UsageError(`${where}: does not fit ${method.desc.input.typeName}: ${(error as Error).message}`);
  }
}

/**
 * The one server `call` talks to: the first of --servers (any gRPC server: no rpcpool Info is
 * asked for), or else one embedded local server, which hosts the lesson's services. With
 * --require or --prefer, the first of --servers the pool would give the call to by its labels
 * (none matching: FAILED_PRECONDITION, exit 1).
 */
export async function oneServer(
  options: DescribedCallOptions,
): Promise<{ server: PoolServer; close(): Promise<void> }> {
  if (options.servers === undefined || options.require || options.prefer) {
    const pool = await poolFromOptions({ ...options, local: options.local ?? 1 });
    try {
      const server = await pool.apply(async (chosen) => chosen);
      return { server, close: () => pool.close() };
    } catch (error) {
      await pool.close();
      throw error;
    }
  }
  const [target] = parseServerList(options.servers);
  const [address] = await new Discovery([target!]).resolve();
  if (!address) throw new UsageError(`--servers: ${target} names no address`);
  const security = clientSecurity(options);
  let tls: ReturnType<typeof transportTls>;
  try {
    tls = transportTls(security);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const connection = new ServerConnection(address, { tls, metadata: callMetadata(security) });
  return { server: connection, close: async () => connection.close() };
}

/**
 * `rpcpool call SERVICE/METHOD [JSON|-]`: one call of any method of a server, its messages
 * described by the server's reflection (or --proto), requests and replies in proto3 JSON, one
 * reply a line. Streams of requests (client streams, bidi) are read as JSON lines from stdin.
 */
export async function callCommand(
  name: string,
  json: string | undefined,
  options: DescribedCallOptions,
  _command: Command,
) {
  const { server, close } = await oneServer(options);
  try {
    await callOn(server, name, json, options);
  } catch (error) {
    throw unreached(error, server.address);
  } finally {
    await flushLines();
    await close();
  }
}

/**
 * A server `call` could not reach says so as every command does (src/pool/connect-failure.ts):
 * "does not speak gRPC" for a web server's port, a hint for a port nothing listens on, a TLS
 * refusal, not grpc-js's "Protocol error". Other failures pass as they are.
 */
function unreached(error: unknown, address: string): unknown {
  if (!(error instanceof ClientError) || connectFailureKind(error) === "other") return error;
  return noServerError([address], [error.at(address)]);
}

async function callOn(
  server: PoolServer,
  name: string,
  json: string | undefined,
  options: DescribedCallOptions,
) {
  const method = await commandMethod(name, server, options);
  const { spec } = method;
  const print = (reply: Message) =>
    writeLine(method.replyToJson(reply, { pretty: options.pretty, emitDefaults: options.emitDefaults }));
  // One server, not a pool: the pool's --priority and --client-name go as metadata here.
  const callOptions = { timeoutMs: options.timeoutMs, metadata: schedulingMetadata(options) };
  if (!spec.requestStream) {
    const fromStdin = json === undefined || json === "-";
    if (fromStdin) noteTerminalStdin(`the request (one JSON ${method.desc.input.typeName})`);
    const request = requestOf(method, fromStdin ? await wholeStdin() : json);
    if (!spec.responseStream) {
      await print(await server.unary(spec, request, callOptions));
      return;
    }
    for await (const reply of server.serverStream(spec, request, callOptions)) await print(reply);
    return;
  }
  // A stream of requests: the JSON argument as the only one, or JSON lines from stdin.
  const abort = new AbortController();
  let bad: unknown;
  const requests = async function* () {
    if (json !== undefined && json !== "-") {
      yield requestOf(method, json);
      return;
    }
    noteTerminalStdin(`the requests (JSON lines of ${method.desc.input.typeName})`);
    for await (const line of inputLines(process.stdin)) {
      try {
        yield requestOf(method, line.text, `standard input: line ${line.number}`);
      } catch (error) {
        bad = error;
        abort.abort();
        return;
      }
    }
  };
  try {
    if (!spec.responseStream) {
      await print(await server.clientStream(spec, requests(), { ...callOptions, signal: abort.signal }));
      return;
    }
    const call = server.duplex(spec, { ...callOptions, signal: abort.signal });
    const sending = (async () => {
      for await (const request of requests()) await call.send(request);
      call.end();
    })();
    sending.catch(() => call.cancel());
    for await (const reply of call.replies) await print(reply);
    await sending;
  } catch (error) {
    throw bad ?? error;
  }
  if (bad) throw bad;
}

/** All of standard input, for a single request given as `-` (or not given). */
async function wholeStdin(): Promise<string> {
  let text = "";
  process.stdin.setEncoding("utf8");
  for await (const chunk of process.stdin as AsyncIterable<string>) text += chunk;
  return text;
}
