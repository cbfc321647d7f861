import { Metadata, status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { ClientError } from "./client-error.js";
import { ServerError } from "./server-error.js";
import { decodeStatus, encodeStatus, statusDetailsKey } from "./status-details.js";

describe("google.rpc.Status details", () => {
  it("round-trip ErrorInfo and BadRequest through the trailer bytes", () => {
    const bytes = encodeStatus(3, "t.csv: line 2, column 1: bad", {
      errorInfo: {
        reason: "MALFORMED_CELL",
        domain: "rpcpool",
        metadata: { file: "t.csv", line: "2", column: "1" },
      },
      badRequest: {
        fieldViolations: [{ field: "chunk", description: "bad", reason: "", localizedMessage: undefined }],
      },
    });
    const decoded = decodeStatus(bytes);
    expect(decoded.code).toBe(3);
    expect(decoded.message).toBe("t.csv: line 2, column 1: bad");
    expect(decoded.details.errorInfo?.metadata).toEqual({ file: "t.csv", line: "2", column: "1" });
    expect(decoded.details.badRequest?.fieldViolations[0]?.field).toBe("chunk");
  });

  it("travel from a ServerError's trailers into a ClientError, with the legacy rpcpool-* keys", () => {
    const thrown = new ServerError(status.INVALID_ARGUMENT, "t.csv: line 2, column 1: bad", {
      errorInfo: { reason: "MALFORMED_CELL", domain: "rpcpool", metadata: { file: "t.csv", line: "2" } },
    });
    const trailers = thrown.trailers();
    expect(trailers["rpcpool-file"]).toBe("t.csv");
    const error = ClientError.from({ code: thrown.code, details: thrown.message, metadata: trailers });
    expect(error.message).toBe("INVALID_ARGUMENT: t.csv: line 2, column 1: bad");
    expect(error.errorDetails.errorInfo?.reason).toBe("MALFORMED_CELL");
  });

  it("never hide a status behind a malformed details trailer", () => {
    const metadata = new Metadata();
    metadata.set(statusDetailsKey, Buffer.from([0xff, 0xff, 0xff]));
    const error = ClientError.from({ code: status.INTERNAL, details: "x", metadata });
    expect(error.codeName).toBe("INTERNAL");
    expect(error.errorDetails).toEqual({});
  });

  it("map an AbortSignal.timeout to DEADLINE_EXCEEDED and a plain abort to CANCELLED", async () => {
    const timeout = AbortSignal.timeout(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(ClientError.fromAbort(timeout).codeName).toBe("DEADLINE_EXCEEDED");
    const controller = new AbortController();
    controller.abort();
    expect(ClientError.fromAbort(controller.signal).codeName).toBe("CANCELLED");
  });
});
