import type { Http2Server, ServerHttp2Session } from "node:http2";
import type { Socket } from "node:net";
import type { Server } from "@grpc/grpc-js";
import { ConnectionTable } from "./connection-table.js";

export interface ConnectionLimits {
  /**
   * Most client connections open at once (--max-connections). A new one beyond it takes the slot
   * of the connection that has shown least (connection-table.ts); when all are busy it is closed.
   */
  maxConnections: number;
  /** Most client connections from one IP address (--max-connections-per-address), the same way. */
  maxConnectionsPerAddress: number;
  /**
   * How long a new connection may take to send its HTTP/2 preface (and its TLS handshake first):
   * a silent connection is closed after it, so idle sockets cannot hold the server's descriptors.
   */
  prefaceTimeoutMs: number;
  /**
   * A connection whose only calls are health calls for this long is closed, as grpc-js closes one
   * without calls (--max-connection-idle-ms): a Watch is open for ever.
   */
  maxIdleMs: number;
}

export const defaultConnectionLimits: ConnectionLimits = {
  maxConnections: 1000,
  maxConnectionsPerAddress: 100,
  prefaceTimeoutMs: 5000,
  maxIdleMs: 600_000,
};

/** The server's connections, bounded: what the guard tells of calls, and what a drain closes. */
export interface LimitedConnections {
  readonly table: ConnectionTable;
  /**
   * On drain, before grpc-js closes the sessions (GOAWAY): every connection closes as soon as its
   * calls are done, without waiting for the client to close its end, as gRPC C-core clients do not.
   */
  closeWhenDone(): void;
  /** Stops the idle sweep. */
  stop(): void;
}

/**
 * Bounds the connections of a grpc-js server, which has no option for them: every socket enters
 * the table as it is accepted (or evicts one, or is refused), a timer per socket closes it if its
 * HTTP/2 preface does not come in time (cleared when its session receives the client's SETTINGS),
 * and a sweep closes connections whose only calls are health calls once idle. The listeners are
 * a private field of grpc-js, as for http2-window.ts.
 */
export function limitConnections(
  server: Server,
  limits: ConnectionLimits,
  table = new ConnectionTable(limits),
): LimitedConnections {
  // Each session with its raw socket: the session's own is a proxy that may not be destroyed.
  const sessions = new Map<ServerHttp2Session, Socket>();
  const listeners = (server as unknown as { http2Servers?: Map<Http2Server, unknown> }).http2Servers;
  for (const listener of listeners?.keys() ?? []) {
    // The raw socket and the TLS socket over it (the session's) share the peer's address and port,
    // and grpc-js's getPeer says them as ADDRESS:PORT.
    const keyOf = (socket: Socket) => `${socket.remoteAddress}:${socket.remotePort}`;
    const accepted = new Map<string, { socket: Socket; session?: ServerHttp2Session }>();
    listener.prependListener("connection", (socket: Socket) => {
      const key = keyOf(socket);
      const entry: { socket: Socket; session?: ServerHttp2Session } = { socket };
      // Once a session owns the socket, only destroying the session closes it.
      const close = () => {
        entry.session?.destroy();
        socket.destroy();
      };
      let timer: NodeJS.Timeout | undefined;
      const connection = table.admit(key, socket.remoteAddress ?? "", close);
      accepted.set(key, entry);
      socket.once("close", () => {
        clearTimeout(timer);
        connection?.remove();
        if (accepted.get(key) === entry) accepted.delete(key);
      });
      if (!connection) {
        socket.destroy();
        return;
      }
      timer = setTimeout(() => {
        // Timers run before I/O: after a stalled event loop, the preface may be waiting unread.
        // Decide after this turn's I/O (setImmediate), once it had its chance to arrive.
        setImmediate(() => {
          if (!connection.isPrefaced()) close();
        });
      }, limits.prefaceTimeoutMs);
      timer.unref();
    });
    listener.on("session", (session: ServerHttp2Session) => {
      const socket = session.socket as Socket | undefined;
      if (!socket) return;
      const key = keyOf(socket);
      const entry = accepted.get(key);
      if (!entry) return;
      entry.session = session;
      sessions.set(session, entry.socket);
      session.once("close", () => sessions.delete(session));
      session.once("remoteSettings", () => table.prefaced(key));
    });
  }
  // A connection with only health calls, idle for maxIdleMs, is closed; checked a few times per period.
  const sweep = setInterval(
    () => {
      for (const idle of table.healthOnlyIdleSince(Date.now() - limits.maxIdleMs)) idle.close();
    },
    Math.max(50, Math.min(limits.maxIdleMs / 4, 60_000)),
  );
  sweep.unref();
  return {
    table,
    closeWhenDone: () => {
      for (const [session, raw] of sessions) {
        if (session.destroyed) {
          raw.destroy();
          continue;
        }
        // Called before grpc-js closes the sessions: each then ends its socket once its streams
        // are done (at once when it has none) and waits for the client's end, which an idle C-core
        // client does not send for seconds, a silent one never. Ours sent, the socket is closed.
        (session.socket as Socket).once("finish", () => raw.destroy());
      }
    },
    stop: () => clearInterval(sweep),
  };
}
