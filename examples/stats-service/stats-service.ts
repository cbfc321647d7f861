import { sep } from "node:path";
import { fileURLToPath } from "node:url";
import { type HostedService, ServerError, Status } from "rpcpool";
import { StatsServiceDefinition } from "./gen/acme/stats/v1/stats.js";

/**
 * The user's service: two methods, written as plain async functions typed from the definition
 * (a misspelled method or field does not compile). Its name comes from the definition.
 */
export const statsService = {
  definition: StatsServiceDefinition,
  protoFiles: ["acme/stats/v1/stats.proto"],
  // The .proto files stay in the source tree; compiled code runs from dist/examples/.
  includeDirs: [fileURLToPath(new URL("./proto", import.meta.url)).replace(`${sep}dist${sep}`, sep)],
  implementation: {
    async describe({ values }, { identity }) {
      if (values.length === 0) throw new ServerError(Status.INVALID_ARGUMENT, "no values to describe");
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
      return {
        count: values.length,
        mean,
        // A loop, not Math.min(...values): spreading 200k arguments overflows the stack.
        min: values.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY),
        max: values.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY),
        stddev: Math.sqrt(variance),
        server: identity.server,
      };
    },
    async countPrimes({ below }, { signal, runOnWorker, identity }) {
      return {
        count: await runOnWorker<number>(
          new URL("./primes.js", import.meta.url),
          "countPrimes",
          [below],
          signal,
        ),
        server: identity.server,
      };
    },
  },
} satisfies HostedService<typeof StatsServiceDefinition>;
