import { createHash, timingSafeEqual } from "node:crypto";

/**
 * A shared secret checked on every call. Compared as SHA-256 digests with timingSafeEqual, so the
 * comparison takes the same time whatever the guess and whatever its length; never printed.
 */
export class BearerToken {
  readonly #digest: Buffer;

  constructor(token: string) {
    if (token.length === 0) throw new RangeError("the token is empty");
    this.#digest = digest(token);
  }

  /** True when an `authorization` header value is `Bearer <the token>`. */
  accepts(header: string | undefined): boolean {
    const given = header?.startsWith("Bearer ") ? header.slice("Bearer ".length) : "";
    return timingSafeEqual(digest(given), this.#digest);
  }

  toString(): string {
    return "BearerToken(***)";
  }

  toJSON(): string {
    return "***";
  }
}

const digest = (text: string) => createHash("sha256").update(text).digest();
