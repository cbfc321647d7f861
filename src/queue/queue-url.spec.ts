import { describe, expect, it } from "vitest";
import { parseQueueUrl, QueueUrlError, redact } from "./queue-url.js";

describe("parseQueueUrl", () => {
  it("reads host, port, database and password, and shows the URL without the password", () => {
    const address = parseQueueUrl("redis://:p%40ss@db.example:6380/3");
    expect(address.redis).toMatchObject({ host: "db.example", port: 6380, db: 3, password: "p@ss" });
    expect(address.redis.tls).toBeUndefined();
    expect(address.shown).toBe("redis://:***@db.example:6380/3");
    expect(address.secret).toBe("p@ss");
  });

  it("defaults to port 6379 and database 0, and turns TLS on for rediss://", () => {
    const address = parseQueueUrl("rediss://user:pw@10.0.0.5");
    expect(address.redis).toMatchObject({ host: "10.0.0.5", port: 6379, db: 0, username: "user" });
    expect(address.redis.tls).toBeDefined();
    expect(address.shown).toBe("rediss://user:***@10.0.0.5");
    expect(parseQueueUrl("redis://[::1]:7000").redis).toMatchObject({ host: "::1", port: 7000 });
  });

  it("refuses what is not a Redis URL without repeating a password", () => {
    expect(() => parseQueueUrl("http://h:1")).toThrow(QueueUrlError);
    expect(() => parseQueueUrl("redis://h:1/x")).toThrow(/database number/);
    try {
      parseQueueUrl("redis//:hunter2@h");
    } catch (error) {
      expect((error as Error).message).not.toContain("hunter2");
    }
  });
});

describe("redact", () => {
  it("hides the secret raw and percent-encoded", () => {
    expect(redact("auth p@ss failed for redis://:p%40ss@h", "p@ss")).toBe(
      "auth *** failed for redis://:***@h",
    );
    expect(redact("nothing secret", undefined)).toBe("nothing secret");
  });
});
