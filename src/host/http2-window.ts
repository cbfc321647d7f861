import type { Http2Server, ServerHttp2Session } from "node:http2";
import type { Server } from "@grpc/grpc-js";

/**
 * Bytes a client may have in flight towards us, per stream and per connection. 2 MiB keeps a
 * stream near full speed on loopback (64 KiB costs about a third) while a server's memory stays
 * under 150 MB on a 1 GB table (`npm run bench`).
 */
export const streamWindowBytes = 2 << 20;
export const sessionWindowBytes = 4 << 20;

/**
 * Client-streaming uploads are bound by HTTP/2 flow control: with the default 64 KiB window the
 * client waits a round trip for every 64 KiB. grpc-js has no option for it, so we raise the
 * windows on each new session of the server's HTTP/2 listeners (a private field of grpc-js).
 */
export function raiseReceiveWindows(server: Server): void {
  const listeners = (server as unknown as { http2Servers?: Map<Http2Server, unknown> }).http2Servers;
  if (!listeners) return;
  for (const listener of listeners.keys()) {
    listener.on("session", (session: ServerHttp2Session) => {
      session.settings({ initialWindowSize: streamWindowBytes });
      // Only a connected session can change its window.
      const raise = () => session.setLocalWindowSize(sessionWindowBytes);
      if (session.socket?.remoteAddress) raise();
      else session.once("connect", raise);
    });
  }
}
