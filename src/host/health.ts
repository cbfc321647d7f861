import type { Server } from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";

/** grpc.health.v1 for the whole server ("") and each named service; NOT_SERVING while draining. */
export class Health {
  readonly #health: HealthImplementation;

  constructor(readonly services: string[]) {
    this.#health = new HealthImplementation(
      Object.fromEntries(["", ...services].map((name) => [name, "SERVING" as const])),
    );
  }

  addToServer(server: Server): void {
    this.#health.addToServer(server);
  }

  drain(): void {
    for (const name of ["", ...this.services]) this.#health.setStatus(name, "NOT_SERVING");
  }
}
