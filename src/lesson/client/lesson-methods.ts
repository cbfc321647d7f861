import { DemoServiceDefinition } from "../../gen/rpcpool/compute/v1/demo.js";
import type { MethodPolicy } from "../../rpc/method-defaults.js";
import { methodsOf } from "../../rpc/method-spec.js";
import { computeServiceDefinition } from "../compute-definition.js";

/** The lesson's methods as the pool calls them; table streams use the one-copy chunk codec. */
export const computeMethods = computeServiceDefinition;
export const demoMethods = methodsOf(DemoServiceDefinition);

/** A CPU demo may count for minutes: the lesson's entries in the pool's table of per-method defaults. */
export const lessonMethodDefaults: Record<string, Partial<MethodPolicy>> = {
  [demoMethods.spin.path]: { timeoutMs: 10 * 60_000 },
};
