import { ClientError } from "../rpc/client-error.js";
import { Status as status } from "../rpc/grpc-status.js";

/**
 * A reply that breaks its contract: a field missing, counts that disagree with the request, a
 * number that is not finite. It is the server's fault, not the input's: the engine moves the task
 * to another server, as when a server fails (see blamesServer), and keeps the server out of
 * rotation for a while. It stays INTERNAL and names the server when no other server is left.
 */
export class BadReply extends ClientError {
  override name = "BadReply";

  /** `server`: the address of the server that sent it (the error always names it). */
  constructor(server: string, what: string) {
    super(status.INTERNAL, `${server} sent a malformed reply: ${what}`, { server });
  }

  /** Whether an error is a malformed reply (also one that crossed a structured clone or a rebuild). */
  static is(error: unknown): boolean {
    return error instanceof BadReply || (error as { name?: string } | undefined)?.name === "BadReply";
  }
}

/** What a reply check gets: the method's name, the request it answers, the reply, who sent it. */
export type ReplyCheck = (method: string, request: unknown, reply: unknown, server: string) => void;

/** A reply's field as a whole number from 0 on (protobuf's unsigned counts), or a BadReply. */
export function countField(server: string, name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new BadReply(server, `${name} is ${describe(value)}, not a count`);
  }
  return value;
}

/** Every value a finite number, or a BadReply naming the first that is not. */
export function finiteNumbers(server: string, name: string, values: unknown): number[] {
  if (!Array.isArray(values)) throw new BadReply(server, `${name} is missing`);
  for (const [i, value] of values.entries()) {
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new BadReply(server, `${name}[${i}] is ${describe(value)}, not a finite number`);
    }
  }
  return values as number[];
}

/** A list of the length the request calls for, or a BadReply saying both lengths. */
export function expectLength<T>(server: string, name: string, values: T[], length: number): T[] {
  if (values.length !== length) {
    throw new BadReply(server, `${values.length} ${name} where ${length} were due`);
  }
  return values;
}

function describe(value: unknown): string {
  if (value === undefined) return "missing";
  if (typeof value === "number") return String(value);
  return typeof value;
}
