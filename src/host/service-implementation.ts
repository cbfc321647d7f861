import type { GenericMethodDefinition, GenericServiceDefinition } from "../rpc/method-spec.js";
import type { CallContext } from "./call-context.js";
import type { ServerIdentity } from "./identity.js";
import type { ValueStore } from "./value-store.js";
import type { RunOptions } from "./worker-pool.js";

/**
 * A service's handlers as plain functions, typed from ts-proto's generic definition
 * (`outputServices=generic-definitions`), as nice-grpc's are: the method's kind comes from the
 * definition, so no wrapper says it again.
 *
 *     const implementation: ServiceImplementation<typeof WordsServiceDefinition> = {
 *       async count(request, context) { return { words: 3 } },          // unary
 *       async *split(request, context) { yield { word: "a" } },          // server streaming
 *       async total(requests, context) { for await (const r of requests) {} return {} }, // client streaming
 *       async *echo(requests, context) { for await (const r of requests) yield r },     // bidi
 *     };
 *
 * A reply may leave fields out (DeepPartial): the host fills in their proto defaults before it
 * encodes the reply. A misspelled method, request field or reply field, or a reply of the wrong
 * type, does not compile.
 */
export type ServiceImplementation<D extends GenericServiceDefinition> = {
  [K in keyof D["methods"]]: MethodImplementation<D["methods"][K]>;
};

/** The handler of one method of a generic definition, by the method's kind. */
export type MethodImplementation<M> =
  M extends GenericMethodDefinition<infer Req, infer Res>
    ? M["requestStream"] extends true
      ? M["responseStream"] extends true
        ? (requests: AsyncIterable<Req>, context: ServerCallContext) => AsyncIterable<DeepPartial<Res>>
        : (requests: AsyncIterable<Req>, context: ServerCallContext) => Promise<DeepPartial<Res>>
      : M["responseStream"] extends true
        ? (request: Req, context: ServerCallContext) => AsyncIterable<DeepPartial<Res>>
        : (request: Req, context: ServerCallContext) => Promise<DeepPartial<Res>>
    : never;

/** A handler of any kind, for definitions that do not carry their messages' types. */
// biome-ignore lint/suspicious/noExplicitAny: requests and replies of any type
export type AnyMethodImplementation = (request: any, context: ServerCallContext) => unknown;

type Builtin =
  | Date
  | ((...args: never[]) => unknown)
  | Uint8Array
  | string
  | number
  | boolean
  | bigint
  | undefined;

/** A message with any of its fields left out, at any depth (ts-proto's and nice-grpc's DeepPartial). */
export type DeepPartial<T> = T extends Builtin
  ? T
  : T extends ReadonlyArray<infer U>
    ? ReadonlyArray<DeepPartial<U>>
    : T extends { $case: string }
      ? { [K in keyof Omit<T, "$case">]?: DeepPartial<T[K]> } & { $case: T["$case"] }
      : T extends object
        ? { [K in keyof T]?: DeepPartial<T[K]> }
        : Partial<T>;

/** The server's tools a handler finds on its context (and a service's factory in ServiceTools). */
export interface ContextTools {
  /**
   * Calls `exportName(...args)` of a module (a URL, e.g. `new URL("./work.js", import.meta.url)`,
   * or a path) on the server's worker threads; aborting the signal stops the worker running it.
   */
  runOnWorker<T>(
    module: string | URL,
    exportName: string,
    args?: unknown[],
    options?: AbortSignal | RunOptions,
  ): Promise<T>;
  /**
   * The server's value store (docs/collectives.md): `store.get(handle)` is the bytes a pool
   * broadcast, scattered or kept under that handle. A handle it does not hold throws
   * FAILED_PRECONDITION (VALUE_MISSING): let it propagate, and the pool puts the value and retries.
   */
  store: ValueStore;
  /** Who this server is, for replies that say which server computed them (`server` is set once bound). */
  identity: ServerIdentity;
  /** The server's log (stderr unless the server was given another). */
  log(message: string): void;
  /** Worker threads of the server: how much CPU work it runs at once. */
  workers: number;
}

/**
 * What a handler gets besides its request: the call (signal, metadata, peer, deadline) and the
 * server's tools. The signal aborts only when the client cancels, the deadline passes or the
 * server is forced down; never after a call that succeeded.
 */
export interface ServerCallContext extends CallContext, ContextTools {
  /** When the client's deadline passes; undefined when it set none. */
  readonly deadline: Date | undefined;
}

type Scalar = string | number | boolean | bigint | undefined | null | Uint8Array | Date;

/** `I` with every field the message `P` does not have (at any depth) typed `never`. */
type NoExtraFields<P, I> = P extends Scalar
  ? I
  : I extends ReadonlyArray<infer U>
    ? P extends ReadonlyArray<infer PU>
      ? ReadonlyArray<NoExtraFields<PU, U>>
      : I
    : I extends object
      ? { [K in keyof I]: K extends keyof P ? NoExtraFields<NonNullable<P[K]>, I[K]> : never }
      : I;

/** What a handler gives: the reply its promise resolves to, or what its stream yields. */
type ReplyOf<F> = F extends (...args: never[]) => Promise<infer R>
  ? R
  : F extends (...args: never[]) => AsyncIterable<infer R>
    ? R
    : never;

/**
 * The methods of an implementation whose replies have a field their message does not have. An
 * object literal returned from a function is not checked for excess fields by TypeScript (a
 * misspelled optional field would compile); defineService infers the handlers' own reply types
 * and refuses them with this.
 */
export type ExtraReplyFields<D extends GenericServiceDefinition, I> = {
  [K in keyof I]: K extends keyof D["methods"]
    ? D["methods"][K] extends GenericMethodDefinition<unknown, infer Res>
      ? ReplyOf<I[K]> extends NoExtraFields<Res, ReplyOf<I[K]>>
        ? never
        : K
      : never
    : K;
}[keyof I];
