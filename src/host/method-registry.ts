import type { handleUnaryCall, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { MethodSpec } from "../rpc/method-spec.js";

/** A unary method the server hosts, with its handler: what a batch item runs. */
export interface UnaryMethod {
  spec: MethodSpec;
  handler: handleUnaryCall<unknown, unknown>;
}

/**
 * Every method of the services a server hosts, by full path ("/pkg.Service/Method"): all of them
 * for Info (with what their proto says of retrying them), the unary ones with their handlers for
 * batches.
 */
export class MethodRegistry {
  readonly #methods = new Map<string, MethodSpec>();
  readonly #unary = new Map<string, UnaryMethod>();

  add(methods: Record<string, MethodSpec>, implementation: UntypedServiceImplementation): void {
    for (const [name, spec] of Object.entries(methods)) {
      this.#methods.set(spec.path, spec);
      if (spec.requestStream || spec.responseStream) continue;
      const handler = implementation[name] ?? implementation[spec.originalName ?? ""];
      if (typeof handler === "function") {
        this.#unary.set(spec.path, { spec, handler: handler as handleUnaryCall<unknown, unknown> });
      }
    }
  }

  /** The unary method at `path`, if the server hosts one there. */
  unary(path: string): UnaryMethod | undefined {
    return this.#unary.get(path);
  }

  /** Every method, in the order the services were added. */
  all(): MethodSpec[] {
    return [...this.#methods.values()];
  }
}
