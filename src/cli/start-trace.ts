import { subscribe } from "node:diagnostics_channel";
import http2, { type ClientHttp2Session } from "node:http2";
import { syncBuiltinESMExports } from "node:module";
import type { Socket } from "node:net";

/**
 * RPCPOOL_TRACE_START=1: where a command's start-up goes, as marks on stderr when the process
 * exits, each in ms since the process started (performance.now(); Node's own start is the first
 * mark's time). The program marks its own stages (the bundle evaluated, the command's module
 * loaded, the command done); the connections are watched from outside: each socket's TCP connect
 * (Node's `net.client.socket` channel), each HTTP/2 session's settings, and each call's request,
 * reply headers and trailers (http2.connect wrapped, and the wrapper made what `import { connect }`
 * sees by syncBuiltinESMExports, before the transport's module is loaded). Off, it costs one
 * environment lookup: nothing is subscribed or wrapped and `mark` is a no-op.
 */
export interface StartTrace {
  mark(stage: string): void;
}

const off: StartTrace = { mark: () => {} };

export function startTrace(env: Readonly<Record<string, string | undefined>>): StartTrace {
  if (!env.RPCPOOL_TRACE_START) return off;
  const marks: string[] = [];
  const mark = (stage: string) => marks.push(`${performance.now().toFixed(1).padStart(7)} ms  ${stage}`);
  let sockets = 0;
  subscribe("net.client.socket", (message) => {
    const { socket } = message as { socket: Socket };
    const name = `socket ${++sockets}`;
    mark(`${name}: connecting`);
    socket.once("connect", () => mark(`${name}: connected`));
    socket.once("close", () => mark(`${name}: closed`));
  });
  const connect = http2.connect;
  let sessions = 0;
  http2.connect = ((...args: Parameters<typeof connect>) => {
    const session = connect(...args);
    watchSession(session, `session ${++sessions} (${String(args[0])})`, mark);
    return session;
  }) as typeof connect;
  syncBuiltinESMExports();
  const stdoutWrite = process.stdout.write;
  let firstOutput = true;
  process.stdout.write = function (this: NodeJS.WriteStream, ...args: unknown[]) {
    if (firstOutput) mark("first output on stdout");
    firstOutput = false;
    return (stdoutWrite as (...a: unknown[]) => boolean).apply(this, args);
  } as NodeJS.WriteStream["write"];
  process.once("exit", () => {
    mark("exit");
    process.stderr.write(`rpcpool start-up marks (RPCPOOL_TRACE_START):\n${marks.join("\n")}\n`);
  });
  return { mark };
}

/** Marks a session's settings and each call on it: request sent, reply headers, trailers. */
function watchSession(session: ClientHttp2Session, name: string, mark: (stage: string) => void) {
  session.once("connect", () => mark(`${name}: connected`));
  session.once("remoteSettings", () => mark(`${name}: server's settings`));
  session.once("close", () => mark(`${name}: closed`));
  const request = session.request.bind(session);
  session.request = ((...args: Parameters<ClientHttp2Session["request"]>) => {
    const stream = request(...args);
    const path = String(args[0]?.[":path"] ?? "?")
      .split("/")
      .pop();
    mark(`${name}: ${path} requested`);
    stream.once("response", () => mark(`${name}: ${path} reply headers`));
    stream.once("trailers", () => mark(`${name}: ${path} trailers`));
    return stream;
  }) as ClientHttp2Session["request"];
}
