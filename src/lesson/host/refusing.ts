import { status } from "@grpc/grpc-js";
import { Float64Overflow, ZeroDivisor } from "../../exact/refusals.js";
import { invalidArgument, ServerError } from "../../rpc/server-error.js";
import { RefusedInput } from "../compute/small-computations.js";

/**
 * A computation's result, or its refusal as a status, naming the file when there is one: a value
 * beyond float64 is OUT_OF_RANGE, a zero divisor or a refused input INVALID_ARGUMENT. Anything
 * else is a bug (INTERNAL).
 */
export function refusing<T>(compute: () => T, fileName?: string): T {
  try {
    return compute();
  } catch (error) {
    const prefix = fileName ? `${fileName}: ` : "";
    const fields: Record<string, string> = fileName ? { file: fileName } : {};
    if (error instanceof Float64Overflow) {
      if (error.column !== undefined) fields.column = String(error.column);
      throw new ServerError(status.OUT_OF_RANGE, prefix + error.message, {
        errorInfo: { reason: "BEYOND_FLOAT64", domain: "rpcpool", metadata: fields },
      });
    }
    if (error instanceof ZeroDivisor) {
      throw invalidArgument(prefix + error.message, { reason: "ZERO_DIVISOR", fields });
    }
    if (error instanceof RefusedInput) throw invalidArgument(prefix + error.message);
    throw error;
  }
}
