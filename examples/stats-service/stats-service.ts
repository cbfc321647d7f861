import { sep } from "node:path";
import { fileURLToPath } from "node:url";
import { type HostedService, ServerError } from "rpcpool";
import {
  type CountPrimesRequest,
  type DescribeRequest,
  StatsServiceDefinition,
} from "./gen/acme/stats/v1/stats.js";

/** The user's service: two methods, written as plain async functions. */
export const statsService: HostedService = {
  name: "acme.stats.v1.StatsService",
  definition: StatsServiceDefinition,
  protoFiles: ["acme/stats/v1/stats.proto"],
  // The .proto files stay in the source tree; compiled code runs from dist/examples/.
  includeDirs: [fileURLToPath(new URL("./proto", import.meta.url)).replace(`${sep}dist${sep}`, sep)],
  implementation: ({ unary, runOnWorker, identity }) => ({
    describe: unary(async ({ values }: DescribeRequest) => {
      if (values.length === 0) throw new ServerError(3, "no values to describe");
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
    }),
    countPrimes: unary(async ({ below }: CountPrimesRequest, { signal }) => ({
      count: await runOnWorker<number>(
        new URL("./primes.js", import.meta.url),
        "countPrimes",
        [below],
        signal,
      ),
      server: identity.server,
    })),
  }),
};
