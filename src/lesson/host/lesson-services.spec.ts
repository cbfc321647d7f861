import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InvokeResponse as LegacyInvokeResponse } from "../../gen/rpcpool/compute/v1/batch.js";
import { InvokeRequest, type InvokeResponse } from "../../gen/rpcpool/pool/v1/batch.js";
import { methodsOf, serviceNameOf } from "../../rpc/method-spec.js";
import { lessonServices } from "./lesson-services.js";

describe("the lesson's services", () => {
  it("are the compute and demo services, the deprecated batch under its 0.1 name, and the accumulator", async () => {
    const services = await lessonServices();
    expect(services.map((service) => serviceNameOf(service.definition))).toEqual([
      "rpcpool.compute.v1.ComputeService",
      "rpcpool.compute.v1.DemoService",
      "rpcpool.compute.v1.BatchService",
      "rpcpool.compute.v1.ExactAccumulatorService",
    ]);
    const compute = methodsOf(services[0]!.definition);
    expect(compute.columnSums!.idempotency).toBe("IDEMPOTENT");
    const legacy = methodsOf(services[2]!.definition).invoke!;
    expect(legacy.path).toBe("/rpcpool.compute.v1.BatchService/Invoke");
  });

  it("answer a 0.1 batch client with the framework's messages: the same bytes for it", async () => {
    const [, , legacyBatch] = await lessonServices();
    const invoke = methodsOf(legacyBatch!.definition).invoke!;
    const request = invoke.requestDeserialize(
      Buffer.from(InvokeRequest.encode({ method: "/a.B/C", requests: [Buffer.from([1])] }).finish()),
    );
    expect(request).toEqual({ method: "/a.B/C", requests: [Buffer.from([1])] });
    const reply: InvokeResponse = {
      results: [{ response: Buffer.from([7]), code: 3, message: "no", statusDetails: Buffer.from([8, 3]) }],
      servedBy: { server: "s", host: "h", pid: 1, threadId: 2 },
    };
    // A 0.1 client decodes it with its own messages and skips the newer status_details.
    expect(LegacyInvokeResponse.decode(invoke.responseSerialize(reply))).toEqual({
      results: [{ response: Buffer.from([7]), code: 3, message: "no" }],
      servedBy: { server: "s", host: "h", pid: 1, threadId: 2 },
    });
  });

  it("refuse a data root that is not there before any server starts", async () => {
    await expect(lessonServices({ dataRoot: join(tmpdir(), "no-such-rpcpool-root") })).rejects.toThrow(
      /ENOENT/,
    );
  });
});
