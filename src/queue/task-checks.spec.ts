import { describe, expect, it } from "vitest";
import { Status } from "../rpc/grpc-status.js";
import { queueLimits } from "./queue-limits.js";
import { outcomeSigned, signOutcome } from "./result-signature.js";
import { checkedTaskData, saneJobHash, TaskRefusal } from "./task-checks.js";

const method = "/rpcpool.compute.v1.ComputeService/Circles";
const limits = queueLimits({ maxTaskBytes: 100, maxJobBytes: 150 });
const refusal = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    if (error instanceof TaskRefusal) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error("not refused");
};

describe("checkedTaskData", () => {
  const data = { job: "J", method, tasks: [{ index: 3, inline: ["AAAA"] }, { index: 4 }] };

  it("takes what submit writes", () => {
    expect(checkedTaskData(data, "J-3", method, limits)).toBe(data);
  });

  it("refuses another method than the queue's", () => {
    const other = { ...data, method: "/rpcpool.pool.v1.StoreService/Drop" };
    expect(refusal(() => checkedTaskData(other, "J-3", method, limits))).toMatchObject({
      code: Status.PERMISSION_DENIED,
      message: expect.stringContaining("is on the queue of /rpcpool.compute.v1.ComputeService/Circles"),
    });
  });

  it("refuses records of the wrong shape or under another id", () => {
    for (const [bad, id] of [
      [null, "J-3"],
      [{ ...data, tasks: [] }, "J-3"],
      [{ ...data, tasks: [{ index: -1 }] }, "J--1"],
      [{ ...data, tasks: [{ index: 3, inline: [7] }] }, "J-3"],
      [data, "K-3"],
    ] as const) {
      expect(refusal(() => checkedTaskData(bad, id, method, limits)).code).toBe(Status.INVALID_ARGUMENT);
    }
  });

  it("refuses an inline input over the limits by its base64 length, without decoding it", () => {
    const big = { ...data, tasks: [{ index: 3, inline: ["A".repeat(136)] }] }; // 102 bytes
    expect(refusal(() => checkedTaskData(big, "J-3", method, limits))).toMatchObject({
      code: Status.RESOURCE_EXHAUSTED,
      message: expect.stringMatching(/^task 4 is .* more than the queue takes/),
    });
    const many = { ...data, tasks: [3, 4].map((index) => ({ index, inline: ["A".repeat(120)] })) };
    expect(refusal(() => checkedTaskData(many, "J-3", method, limits)).message).toMatch(/^the job is/);
  });
});

describe("saneJobHash", () => {
  it("replaces data or opts that are not JSON, saying which", () => {
    const fields = ["name", "task", "data", '{"job":"J"}', "opts", "{not json"];
    saneJobHash(fields);
    expect(fields[5]).toBe("{}");
    expect(refusal(() => checkedTaskData(JSON.parse(fields[3]!), "J-3", method, limits)).message).toBe(
      "the task's record is malformed: its opts in Redis are not JSON; refused",
    );
  });

  it("leaves a sound record alone", () => {
    const fields = ["data", "{}", "opts", "{}"];
    saneJobHash(fields);
    expect(fields).toEqual(["data", "{}", "opts", "{}"]);
  });
});

describe("outcome signatures", () => {
  it("hold only for the same key, job, task, method, field and bytes", () => {
    const value = Buffer.from("reply");
    const signature = Buffer.from(signOutcome("k", "J", 0, method, "r:0", value));
    expect(outcomeSigned("k", signature, "J", 0, method, "r:0", value)).toBe(true);
    expect(outcomeSigned("other", signature, "J", 0, method, "r:0", value)).toBe(false);
    expect(outcomeSigned("k", signature, "K", 0, method, "r:0", value)).toBe(false);
    expect(outcomeSigned("k", signature, "J", 1, method, "r:0", value)).toBe(false);
    expect(outcomeSigned("k", signature, "J", 0, "/x", "r:0", value)).toBe(false);
    expect(outcomeSigned("k", signature, "J", 0, method, "e:0", value)).toBe(false);
    expect(outcomeSigned("k", signature, "J", 0, method, "r:0", Buffer.from("forged"))).toBe(false);
    expect(outcomeSigned("k", undefined, "J", 0, method, "r:0", value)).toBe(false);
  });
});
