import type { CallOptions } from "./call-options.js";
import { Status as status } from "./grpc-status.js";
import {
  type AnyServiceDefinition,
  type MethodSpec,
  methodsOf,
  type RequestOf,
  type ResponseOf,
  serviceNameOf,
  type UnaryMethodName,
} from "./method-spec.js";
import { ServerError } from "./server-error.js";

/**
 * The methods of a session's services, as both ends see them: a session class's (its objects'
 * methods, implemented on the server) and a callback service's (implemented by the client). Both
 * are services of the user's own proto; their requests and responses travel serialized.
 */

/** What a call in a session takes: the caller's cancellation and deadline, as for plain calls. */
export type SessionCallOptions = Pick<CallOptions, "signal" | "timeoutMs">;

/** A typed client of one service over a session: a remote object, or the client's callbacks. */
export interface SessionCaller<D extends AnyServiceDefinition> {
  call<K extends UnaryMethodName<D>>(
    method: K,
    request: RequestOf<D, K>,
    options?: SessionCallOptions,
  ): Promise<ResponseOf<D, K>>;
}

/** An implementation of a service's methods in a session: async functions of the request and a context. */
export type SessionImplementation<D extends AnyServiceDefinition, Context> = {
  [K in UnaryMethodName<D>]: (request: RequestOf<D, K>, context: Context) => Promise<ResponseOf<D, K>>;
};

/** Any such implementation, untyped: what a host's session class factory returns. */
export type UntypedSessionImplementation<Context> = Record<
  string,
  // biome-ignore lint/suspicious/noExplicitAny: each method takes its own request type
  (request: any, context: Context) => Promise<unknown>
>;

/** A service usable in a session: its full name, and its methods by full path. */
export interface SessionService {
  name: string;
  methods: Map<string, MethodSpec>;
}

/**
 * The service behind a definition (either ts-proto form). Sessions carry unary methods only (a
 * stream is a callback the server pulls from, or one the client pushes to): any other kind is a
 * TypeError, at once, where the service is declared.
 */
export function sessionServiceOf(definition: AnyServiceDefinition, role: string): SessionService {
  const name = serviceNameOf(definition);
  const methods = new Map<string, MethodSpec>();
  for (const spec of Object.values(methodsOf(definition))) {
    if (spec.requestStream || spec.responseStream) {
      throw new TypeError(
        `${spec.path}: a ${role} may have unary methods only (sessions carry no streams; pull with a callback instead)`,
      );
    }
    methods.set(spec.path, spec);
  }
  return { name, methods };
}

/** A typed caller of a service's methods, over `send` (which carries the serialized request). */
export function sessionCaller<D extends AnyServiceDefinition>(
  definition: D,
  send: (spec: MethodSpec, request: Buffer, options: SessionCallOptions) => Promise<Buffer>,
): SessionCaller<D> {
  const methods = methodsOf(definition) as Record<string, MethodSpec>;
  return {
    async call(method, request, options = {}) {
      const spec = methods[method];
      if (!spec) throw new TypeError(`${serviceNameOf(definition)} has no method ${method}`);
      return spec.responseDeserialize(await send(spec, spec.requestSerialize(request), options));
    },
  };
}

/**
 * Runs the method at `spec` of an implementation on a serialized request: a request that does not
 * decode is INVALID_ARGUMENT, a method the implementation lacks UNIMPLEMENTED. Methods are called
 * on the implementation, so a class instance's `this` is itself.
 */
export async function invokeMethod<Context>(
  spec: MethodSpec,
  implementation: UntypedSessionImplementation<Context>,
  request: Buffer,
  context: Context,
): Promise<Buffer> {
  const fn = implementation[spec.name] ?? implementation[spec.originalName ?? ""];
  if (typeof fn !== "function") {
    throw new ServerError(status.UNIMPLEMENTED, `${spec.path} is not implemented`);
  }
  let decoded: unknown;
  try {
    decoded = spec.requestDeserialize(request);
  } catch (error) {
    throw new ServerError(
      status.INVALID_ARGUMENT,
      `bad request for ${spec.path}: ${(error as Error).message}`,
    );
  }
  return spec.responseSerialize(await fn.call(implementation, decoded, context));
}
