import { setTimeout as sleep } from "node:timers/promises";
import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { invalidArgument, ServerError } from "../rpc/server-error.js";
import { decodeStatus, statusDetailsKey } from "../rpc/status-details.js";
import { toStatus } from "./to-status.js";

function mapped(error: unknown) {
  const bugs: unknown[] = [];
  return { ...toStatus(error, (bug) => bugs.push(bug)), bugs };
}

describe("what a handler threw, as a gRPC status", () => {
  it("keeps a ServerError's code, message and standard details, with the legacy trailers", () => {
    const reply = mapped(
      invalidArgument("t.csv: line 2, column 1: bad", {
        reason: "MALFORMED_TABLE",
        fields: { file: "t.csv", line: "2", column: "1" },
      }),
    );
    expect(reply.code).toBe(status.INVALID_ARGUMENT);
    expect(reply.details).toBe("t.csv: line 2, column 1: bad");
    expect(reply.metadata.get("rpcpool-line")).toEqual(["2"]);
    const details = decodeStatus(reply.metadata.get(statusDetailsKey)[0] as Buffer);
    expect(details.details.errorInfo?.reason).toBe("MALFORMED_TABLE");
    expect(reply.bugs).toEqual([]);
    expect(mapped(new ServerError(status.NOT_FOUND, "gone")).metadata.get(statusDetailsKey)).toEqual([]);
  });

  it("never throws on a name that is not ASCII: the legacy trailer percent-encoded, the details exact", () => {
    const reply = mapped(
      invalidArgument("données.csv: line 2, column 2: bad", {
        reason: "MALFORMED_TABLE",
        fields: { file: "données.csv", line: "2", "Bad Key": "x" },
      }),
    );
    expect(reply.code).toBe(status.INVALID_ARGUMENT);
    expect(reply.details).toBe("données.csv: line 2, column 2: bad");
    expect(reply.metadata.get("rpcpool-file")).toEqual(["donn%C3%A9es.csv"]);
    expect(decodeURIComponent(String(reply.metadata.get("rpcpool-file")[0]))).toBe("données.csv");
    const details = decodeStatus(reply.metadata.get(statusDetailsKey)[0] as Buffer);
    expect(details.details.errorInfo?.metadata?.file).toBe("données.csv");
    expect(reply.bugs).toEqual([]);
    expect(mapped(new ServerError(status.NOT_FOUND, "lone \uD800 surrogate")).details).toBe(
      "lone \uFFFD surrogate",
    );
  });

  it("reports an aborted call or task as CANCELLED", async () => {
    const controller = new AbortController();
    controller.abort(new DOMException("call cancelled", "AbortError"));
    expect(mapped(controller.signal.reason).code).toBe(status.CANCELLED);
    const timer = sleep(10_000, undefined, { signal: controller.signal });
    expect(mapped(await timer.catch((e) => e)).code).toBe(status.CANCELLED);
  });

  it("takes any other error for a bug: INTERNAL, no internals in the message, the error logged", () => {
    const deep = () => {
      const recurse = (n: number): number => recurse(n + 1) + 1;
      try {
        return recurse(0);
      } catch (error) {
        return error;
      }
    };
    for (const error of [new RangeError("radius -1"), new TypeError("x is undefined"), deep(), "a string"]) {
      const reply = mapped(error);
      expect(reply.code).toBe(status.INTERNAL);
      expect(reply.details).toBe("internal error (see the server's log)");
      expect(reply.bugs).toEqual([error]);
    }
  });
});
