import type { handleClientStreamingCall, handleUnaryCall, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { MethodSpec } from "../rpc/method-spec.js";
import type { ClientScope } from "./client-key.js";
import type { ContextTools, ServerCallContext } from "./service-implementation.js";

/**
 * A hosted unary method's plain function (its ServiceImplementation handler, bound), with the
 * tools its context carries and the scope its client rides in to the worker threads: what a batch
 * item calls straight, with the batch's context, instead of running as a grpc-js call of its own.
 */
export interface DirectUnary {
  fn: (request: unknown, context: ServerCallContext) => Promise<unknown>;
  tools: ContextTools;
  clients?: ClientScope;
}

/** The plain functions of a hosted service, by the same keys as its grpc-js handlers. */
export interface DirectFunctions {
  functions: Record<string, DirectUnary["fn"]>;
  tools: ContextTools;
  clients?: ClientScope;
}

/** A unary method the server hosts, with its handler: what a batch item runs. */
export interface UnaryMethod {
  spec: MethodSpec;
  handler: handleUnaryCall<unknown, unknown>;
  /** Its plain function, for a hosted service's method (the framework's own have none). */
  direct?: DirectUnary;
}

/** A client-streaming method the server hosts, with its handler: what a queued table task runs. */
export interface ClientStreamMethod {
  spec: MethodSpec;
  handler: handleClientStreamingCall<unknown, unknown>;
}

/**
 * Every method of the services a server hosts, by full path ("/pkg.Service/Method"): all of them
 * for Info (with what their proto says of retrying them), the unary ones with their handlers for
 * batches, and the unary and client-streaming ones (one reply each) for calls run in-process.
 */
export class MethodRegistry {
  readonly #methods = new Map<string, MethodSpec>();
  readonly #unary = new Map<string, UnaryMethod>();
  readonly #clientStream = new Map<string, ClientStreamMethod>();

  add(
    methods: Record<string, MethodSpec>,
    implementation: UntypedServiceImplementation,
    direct?: DirectFunctions,
  ): void {
    for (const [name, spec] of Object.entries(methods)) {
      this.#methods.set(spec.path, spec);
      if (spec.responseStream) continue;
      const handler = implementation[name] ?? implementation[spec.originalName ?? ""];
      if (typeof handler !== "function") continue;
      if (spec.requestStream) {
        this.#clientStream.set(spec.path, {
          spec,
          handler: handler as handleClientStreamingCall<unknown, unknown>,
        });
      } else {
        const fn = direct?.functions[name];
        this.#unary.set(spec.path, {
          spec,
          handler: handler as handleUnaryCall<unknown, unknown>,
          direct: fn ? { fn, tools: direct.tools, clients: direct.clients } : undefined,
        });
      }
    }
  }

  /** The unary method at `path`, if the server hosts one there. */
  unary(path: string): UnaryMethod | undefined {
    return this.#unary.get(path);
  }

  /** The client-streaming method at `path`, if the server hosts one there. */
  clientStream(path: string): ClientStreamMethod | undefined {
    return this.#clientStream.get(path);
  }

  /** Paths of the methods with one reply (unary and client-streaming), with their specs. */
  singleReply(): MethodSpec[] {
    return [...this.#unary.values(), ...this.#clientStream.values()].map((method) => method.spec);
  }

  /** Every method, in the order the services were added. */
  all(): MethodSpec[] {
    return [...this.#methods.values()];
  }
}
