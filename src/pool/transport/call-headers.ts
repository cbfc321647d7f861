import { ClientError } from "../../rpc/client-error.js";
import { Status } from "../../rpc/grpc-status.js";
import type { CallMetadata } from "./transport.js";

/**
 * Headers the transport sets itself: user metadata may not replace them (a caller's
 * `content-type` or `grpc-timeout` would change what the server reads, or hide the deadline).
 * Every `grpc-` key is gRPC's own, and pseudo-headers (":path") are HTTP/2's.
 */
const reserved = new Set(["content-type", "te", "host", "connection", "user-agent", "transfer-encoding"]);

/** Lowercase letters, digits, `-`, `_` and `.`: gRPC's metadata keys. */
const validKey = /^[0-9a-z_.-]+$/;
/** Printable ASCII: a text value as HTTP/2 carries it (binary values go in `-bin` keys). */
const validText = /^[\x20-\x7e]*$/;

/**
 * The metadata as request headers, checked before anything is sent: a reserved or malformed key,
 * or a text value with characters a header cannot carry, is the caller's mistake (INVALID_ARGUMENT),
 * not the server's.
 */
export function metadataHeaders(metadata: CallMetadata, server: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) {
    const refuse = (why: string) => {
      throw new ClientError(Status.INVALID_ARGUMENT, `request metadata "${key}": ${why}`, { server });
    };
    if (!validKey.test(key)) refuse("a key takes lowercase letters, digits, '-', '_' and '.' only");
    if (key.startsWith("grpc-") || reserved.has(key)) refuse("the transport sets this header itself");
    if (key.endsWith("-bin")) {
      headers[key] = (typeof value === "string" ? Buffer.from(value) : value).toString("base64");
    } else if (typeof value !== "string") {
      refuse("a binary value needs a key ending in -bin");
    } else {
      if (!validText.test(value)) refuse("a text value takes printable ASCII only (use a -bin key)");
      headers[key] = value;
    }
  }
  return headers;
}

/** grpc-timeout: at most eight digits, in the finest unit that fits. */
export function timeoutHeader(ms: number): string {
  const value = Math.max(0, Math.ceil(ms));
  if (value < 1e8) return `${value}m`;
  if (value / 1000 < 1e8) return `${Math.ceil(value / 1000)}S`;
  if (value / 60_000 < 1e8) return `${Math.ceil(value / 60_000)}M`;
  return `${Math.min(99_999_999, Math.ceil(value / 3_600_000))}H`;
}
