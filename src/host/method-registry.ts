import type {
  handleUnaryCall,
  MethodDefinition,
  ServiceDefinition,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";

/** A unary method the server hosts, reachable by its path for batched calls. */
export interface RegisteredMethod {
  path: string;
  definition: MethodDefinition<unknown, unknown>;
  handler: handleUnaryCall<unknown, unknown>;
}

/** Every unary method of the services a server hosts, by full path ("/pkg.Service/Method"). */
export class MethodRegistry {
  readonly #methods = new Map<string, RegisteredMethod>();

  add(definition: ServiceDefinition, implementation: UntypedServiceImplementation): void {
    for (const [name, method] of Object.entries(definition) as Array<
      [string, MethodDefinition<unknown, unknown>]
    >) {
      if (method.requestStream || method.responseStream) continue;
      const handler = implementation[name] ?? implementation[method.originalName ?? ""];
      if (typeof handler !== "function") continue;
      this.#methods.set(method.path, {
        path: method.path,
        definition: method,
        handler: handler as handleUnaryCall<unknown, unknown>,
      });
    }
  }

  get(path: string): RegisteredMethod | undefined {
    return this.#methods.get(path);
  }
}
