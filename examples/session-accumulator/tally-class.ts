import { sep } from "node:path";
import { fileURLToPath } from "node:url";
import { type HostedService, ServerError, type SessionCallContext } from "rpcpool";
import {
  type AddRequest,
  type InitRequest,
  NumberSourceServiceDefinition,
  ProgressServiceDefinition,
  type Tally,
  TallyServiceDefinition,
} from "./gen/acme/tally/v1/tally.js";

/**
 * The user's session class: each object a client creates is a running tally whose state (the
 * closure's variables) stays on the server between calls, until the client releases it or its
 * session ends: then `object.signal` aborts, the place to clean up.
 */
export const tallyClass: HostedService = {
  definition: TallyServiceDefinition,
  protoFiles: ["acme/tally/v1/tally.proto"],
  // The .proto files stay in the source tree; compiled code runs from dist/examples/.
  includeDirs: [fileURLToPath(new URL("./proto", import.meta.url)).replace(`${sep}dist${sep}`, sep)],
  sessionClass:
    ({ identity, log }) =>
    (object) => {
      let label = "";
      let count = 0;
      let sum = 0;
      const tally = (): Tally => ({
        label,
        count,
        sum,
        mean: count > 0 ? sum / count : 0,
        server: identity.server,
      });
      const add = (values: number[]) => {
        count += values.length;
        for (const value of values) sum += value;
      };
      object.signal.addEventListener("abort", () =>
        log(`tally "${label}" released: ${object.signal.reason.message}`),
      );
      return {
        init: async (request: InitRequest) => {
          if (request.label === "") throw new ServerError(3, "a tally needs a label");
          label = request.label;
          return {};
        },
        add: async ({ values }: AddRequest) => {
          add(values);
          return { tally: tally() };
        },
        // The server calls back into the client: for its input, and to report progress.
        addFromSource: async (_request: unknown, context: SessionCallContext) => {
          const source = context.callbacks(NumberSourceServiceDefinition);
          const progress = context.exposes(ProgressServiceDefinition)
            ? context.callbacks(ProgressServiceDefinition)
            : undefined;
          let batches = 0;
          for (;;) {
            const { values } = await source.call("next", {});
            if (values.length === 0) break;
            add(values);
            batches++;
            await progress?.call("report", { batches, count });
          }
          return { tally: tally(), batches };
        },
      };
    },
};
