import type { handleClientStreamingCall, handleUnaryCall, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { MethodSpec } from "../rpc/method-spec.js";

/** A unary method the server hosts, with its handler: what a batch item runs. */
export interface UnaryMethod {
  spec: MethodSpec;
  handler: handleUnaryCall<unknown, unknown>;
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

  add(methods: Record<string, MethodSpec>, implementation: UntypedServiceImplementation): void {
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
        this.#unary.set(spec.path, { spec, handler: handler as handleUnaryCall<unknown, unknown> });
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
