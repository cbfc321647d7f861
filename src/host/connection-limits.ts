import type { Http2Server, ServerHttp2Session } from "node:http2";
import type { Socket } from "node:net";
import type { Server } from "@grpc/grpc-js";

export interface ConnectionLimits {
  /** Most client connections open at once (--max-connections); more are closed as they come. */
  maxConnections: number;
  /**
   * How long a new connection may take to send its HTTP/2 preface (and its TLS handshake first):
   * a silent connection is closed after it, so idle sockets cannot hold the server's descriptors.
   */
  prefaceTimeoutMs: number;
}

export const defaultConnectionLimits: ConnectionLimits = { maxConnections: 1000, prefaceTimeoutMs: 5000 };

/**
 * Bounds the connections of a grpc-js server, which has no option for either: the cap is the
 * listeners' own `maxConnections` (Node closes a socket beyond it at once), the preface timeout a
 * timer per socket, cleared when its session receives the client's SETTINGS (the end of the
 * preface). The listeners are a private field of grpc-js, as for http2-window.ts.
 */
export function limitConnections(server: Server, limits: ConnectionLimits): void {
  const listeners = (server as unknown as { http2Servers?: Map<Http2Server, unknown> }).http2Servers;
  if (!listeners) return;
  for (const listener of listeners.keys()) {
    listener.maxConnections = limits.maxConnections;
    // The raw socket and the TLS socket over it (the session's) share the peer's address and port.
    const waiting = new Map<string, { timer: NodeJS.Timeout; session?: ServerHttp2Session }>();
    const keyOf = (socket: Socket) => `${socket.remoteAddress}|${socket.remotePort}`;
    listener.prependListener("connection", (socket: Socket) => {
      const key = keyOf(socket);
      const entry = {
        timer: setTimeout(() => {
          // Timers run before I/O: after a stalled event loop, the preface may be waiting unread.
          // Decide after this turn's I/O (setImmediate), once it had its chance to arrive.
          setImmediate(() => {
            if (waiting.get(key) !== entry) return;
            waiting.delete(key);
            // Once a session owns the socket, only destroying the session closes it.
            if (entry.session) entry.session.destroy();
            socket.destroy();
          });
        }, limits.prefaceTimeoutMs),
        session: undefined as ServerHttp2Session | undefined,
      };
      entry.timer.unref();
      waiting.set(key, entry);
      socket.once("close", () => {
        clearTimeout(entry.timer);
        if (waiting.get(key) === entry) waiting.delete(key);
      });
    });
    listener.on("session", (session: ServerHttp2Session) => {
      const socket = session.socket as Socket | undefined;
      if (!socket) return;
      const key = keyOf(socket);
      const entry = waiting.get(key);
      if (!entry) return;
      entry.session = session;
      session.once("remoteSettings", () => {
        clearTimeout(entry.timer);
        if (waiting.get(key) === entry) waiting.delete(key);
      });
    });
  }
}
