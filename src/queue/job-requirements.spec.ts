import { describe, expect, it } from "vitest";
import { taskQueueName } from "./job-keys.js";
import {
  checkedRequirement,
  metRequirements,
  parseRequirementText,
  requirementText,
  workerLabels,
  workerName,
} from "./job-requirements.js";

describe("requirement texts", () => {
  it("are one text per requirement, whatever the order, and read back", () => {
    const text = requirementText({ zone: "b", gpu: "1" });
    expect(text).toBe("gpu=1&zone=b");
    expect(requirementText({ gpu: "1", zone: "b" })).toBe(text);
    expect(parseRequirementText(text)).toEqual({ gpu: "1", zone: "b" });
  });

  it("escape what a value may hold, and never a ':' (BullMQ's queue names) or a space (client names)", () => {
    const labels = { "example.com/pool": "a b:c=d&e", empty: "" };
    const text = requirementText(labels);
    expect(text).not.toMatch(/[: ]/);
    expect(parseRequirementText(text)).toEqual(labels);
    expect(taskQueueName("/p.S/M", labels)).toBe(`task.p.S.M@${text}`);
    expect(taskQueueName("/p.S/M", {})).toBe("task.p.S.M");
  });

  it("refuse texts no submit writes (anyone may write to Redis)", () => {
    for (const bad of ["gpu", "zone=b&gpu=1", "gpu=1&gpu=2", "bad%20key=1", "%E0=1", "a b=1"])
      expect(parseRequirementText(bad), bad).toBeUndefined();
  });

  it("are met by a worker holding every pair; the empty one is the base queue, not listed", () => {
    const texts = ["gpu=1", "gpu=1&zone=b", "gpu=2", "zone=a", "", "garbage"];
    expect([...metRequirements({ gpu: "1", zone: "b", os: "linux" }, texts).keys()]).toEqual([
      "gpu=1",
      "gpu=1&zone=b",
    ]);
    expect(metRequirements({}, texts).size).toBe(0);
  });

  it("check a submission: no pair is no requirement, a bad key is INVALID_ARGUMENT", () => {
    expect(checkedRequirement({})).toBeUndefined();
    expect(checkedRequirement(undefined)).toBeUndefined();
    expect(checkedRequirement({ gpu: "1" })).toEqual({ gpu: "1" });
    expect(() => checkedRequirement({ "a b": "1" })).toThrow(
      expect.objectContaining({ codeName: "INVALID_ARGUMENT" }),
    );
  });

  it("ride in a worker's connection name, which getWorkers gives back", () => {
    const labels = { gpu: "1", zone: "b" };
    const rawname = `rpcpool:${Buffer.from("task.p.S.M").toString("base64")}:w:${workerName(labels)}`;
    expect(workerLabels(rawname)).toEqual(labels);
    expect(workerLabels(`rpcpool:abc:w:${workerName({})}`)).toEqual({});
    // An older worker, unnamed: no labels.
    expect(workerLabels("rpcpool:abc")).toEqual({});
    expect(workerLabels(undefined)).toEqual({});
  });
});
