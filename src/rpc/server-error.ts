import { type StatusCode, Status as status } from "./grpc-status.js";
import { type ErrorDetails, encodeStatus, statusDetailsKey } from "./status-details.js";

const serverErrorBrand = Symbol.for("rpcpool.ServerError");

/**
 * An error a handler throws on purpose: it reaches the client with its gRPC status code, its
 * message, and its standard details (google.rpc.Status in grpc-status-details-bin). Name the code
 * with `Status` (src/rpc/status.ts): `throw new ServerError(Status.INVALID_ARGUMENT, "no words")`.
 */
export class ServerError extends Error {
  override name = "ServerError";

  /**
   * One class for every copy of rpcpool in a process: `rpcpool-server` is a bundle with its own
   * copy, and a --service module throws the ServerError of the package it imports. Recognised by
   * a registered symbol, so that copy's errors keep their code (not INTERNAL). Subclasses keep
   * the ordinary check.
   */
  static [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the subclass asked about, not always ServerError
    if (this !== ServerError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return (
      typeof value === "object" &&
      value !== null &&
      (value as { [serverErrorBrand]?: true })[serverErrorBrand] === true
    );
  }
  constructor(
    // A number too: codes travel as numbers, and a handler may pass one on from a client error.
    readonly code: StatusCode | number,
    message: string,
    readonly errorDetails: ErrorDetails = {},
  ) {
    super(message);
  }

  /**
   * The trailers the status goes with: the standard details and, for one version, each
   * ErrorInfo metadata entry as `rpcpool-KEY` (the trailers 0.1 clients read), percent-encoded
   * as grpc-message is when not printable ASCII (see legacyTrailerText: HTTP/2 header values are
   * ASCII, and grpc-js throws on any other). The details trailer carries the exact UTF-8. Plain
   * values, so that a client (which throws ServerErrors from its session callbacks) needs no grpc-js.
   */
  trailers(): Record<string, string | Buffer> {
    const trailers: Record<string, string | Buffer> = {};
    if (Object.keys(this.errorDetails).length > 0) {
      trailers[statusDetailsKey] = encodeStatus(this.code, this.message, this.errorDetails);
      for (const [key, value] of Object.entries(this.errorDetails.errorInfo?.metadata ?? {})) {
        const name = `rpcpool-${key.toLowerCase()}`;
        // A key HTTP/2 cannot carry is left out: the details trailer has it.
        if (/^[0-9a-z_.-]+$/.test(name)) trailers[name] = legacyTrailerText(String(value));
      }
    }
    return trailers;
  }
}

Object.defineProperty(ServerError.prototype, serverErrorBrand, { value: true });

/**
 * A text as a header value may carry it: kept as is when it is printable ASCII without `%`,
 * otherwise its UTF-8 bytes outside that range (and `%`) as %XX, the encoding of grpc-message.
 * A file named `données.csv` travels as `donn%C3%A9es.csv`; decodeURIComponent gives it back.
 */
export function legacyTrailerText(text: string): string {
  if (/^[ -$&-~]*$/.test(text)) return text;
  let encoded = "";
  for (const byte of Buffer.from(text, "utf8")) {
    encoded +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return encoded;
}

/** A refusal of the request's content (INVALID_ARGUMENT), with a machine-readable reason and fields. */
export function invalidArgument(message: string, info?: { reason: string; fields: Record<string, string> }) {
  return new ServerError(
    status.INVALID_ARGUMENT,
    message,
    info ? { errorInfo: { reason: info.reason, domain: "rpcpool", metadata: info.fields } } : {},
  );
}
