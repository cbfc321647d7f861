import type { RedisOptions } from "ioredis";

/** A queue's address, parsed: how to connect, how to show it, and the secret to keep out of text. */
export interface QueueAddress {
  /** ioredis options (host, port, db, username, password, tls). */
  redis: RedisOptions;
  /** The URL with its password replaced by `***`: the only form ever printed or logged. */
  shown: string;
  /** The password, to redact from any message that might carry it. */
  secret?: string;
}

/** A usage mistake in a queue URL (the CLI turns it into exit code 2). */
export class QueueUrlError extends Error {
  override name = "QueueUrlError";
}

/**
 * `redis://[[USER]:PASS@]HOST[:PORT][/DB]` or `rediss://...` (TLS, checked against the system's CAs
 * and NODE_EXTRA_CA_CERTS). The password may be percent-encoded. Errors never repeat the password.
 */
export function parseQueueUrl(text: string): QueueAddress {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // The URL itself may hold the password: say what is wrong without echoing it.
    throw new QueueUrlError("the queue URL is not a URL: expected redis://[:PASSWORD@]HOST[:PORT][/DB]");
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new QueueUrlError(`the queue URL must start redis:// or rediss:// (not ${url.protocol}//)`);
  }
  if (!url.hostname) throw new QueueUrlError("the queue URL has no host");
  const path = url.pathname.replace(/^\//, "");
  if (path !== "" && !/^\d{1,2}$/.test(path)) {
    throw new QueueUrlError(`the queue URL's path is a database number, e.g. /0 (not /${path})`);
  }
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  const username = url.username ? decodeURIComponent(url.username) : undefined;
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = url.port ? Number(url.port) : 6379;
  const shown = `${url.protocol}//${username ?? ""}${password !== undefined ? ":***" : ""}${
    username !== undefined || password !== undefined ? "@" : ""
  }${url.host}${path ? `/${path}` : ""}`;
  return {
    redis: {
      host,
      port,
      db: path ? Number(path) : 0,
      username,
      password,
      tls: url.protocol === "rediss:" ? { servername: /^[\d.:]+$/.test(host) ? undefined : host } : undefined,
    },
    shown,
    secret: password,
  };
}

/** `text` with every occurrence of the secret (raw and percent-encoded) replaced by `***`. */
export function redact(text: string, secret: string | undefined): string {
  if (!secret) return text;
  let out = text;
  for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join("***");
  return out;
}
