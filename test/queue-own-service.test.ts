import { join } from "node:path";
import { type RunningServer, ServerError, Status, startServer } from "rpcpool";
import { JobQueue, type RunningQueueWorker, startQueueWorker, type TaskResult } from "rpcpool/queue";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { FlakyServiceDefinition } from "./gen/rpcpool/test/v1/flaky.js";
import { noRedis, type RedisProcess, startRedis } from "./support/redis-server.js";
import { root, rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

/**
 * A user's own service on the queue, not the lesson's (issue 18, item 4): the test's FlakyService
 * (test/proto/rpcpool/test/v1/flaky.proto), hosted by a real server with reflection that also works
 * a real redis-server's queue. Its typed handle gives its replies; `rpcpool submit` describes it by
 * reflection, and `rpcpool result` prints what `rpcpool map` prints.
 */

const tmp = tempDir("rpcpool-queue-own-");
const store = "rpcpool.test.v1.FlakyService/Store";
let redis: RedisProcess;
let server: RunningServer;
let worker: RunningQueueWorker;
let queue: JobQueue;

describe.skipIf(noRedis)(`a user's service on the queue${noRedis ? `: skipped, ${noRedis}` : ""}`, () => {
  beforeAll(async () => {
    redis = await startRedis();
    server = await startServer({
      port: 0,
      workers: 1,
      services: [
        {
          definition: FlakyServiceDefinition,
          protoFiles: ["rpcpool/test/v1/flaky.proto"],
          includeDirs: [join(root, "test", "proto")],
          implementation: {
            async store(request, { identity }) {
              if (request.value === "") throw new ServerError(Status.INVALID_ARGUMENT, "nothing to store");
              return { server: `${identity.server}:${request.value}` };
            },
            async append(_request, { identity }) {
              return { server: identity.server };
            },
          },
        },
      ],
    });
    worker = await startQueueWorker({ url: redis.url, server, concurrency: 1, log: () => {} });
    queue = new JobQueue(redis.url);
  });
  afterAll(async () => {
    await queue?.close();
    await worker?.close();
    await server?.close(0);
    await redis?.stop();
    tmp.cleanup();
  });

  it("submits through its generated definition; replies typed, refusals in place", async () => {
    const flaky = queue.service(FlakyServiceDefinition);
    const job = await flaky.submit("store", [{ value: "a" }, { value: "" }, { value: "b" }]);
    const settled = await job.settled();
    expectTypeOf(settled).toEqualTypeOf<TaskResult<{ server: string }>[]>();
    expect(settled.map((o) => (o.ok ? o.value.server.split(":").at(-1) : o.error.details))).toEqual([
      "a",
      "nothing to store",
      "b",
    ]);
    // Its proto does not say Append may run twice: no worker takes it, so it is refused at once.
    await expect(flaky.submit("append", [{ value: "x" }])).rejects.toMatchObject({
      codeName: "FAILED_PRECONDITION",
    });
  });

  it("rpcpool result of its JSON lines is what rpcpool map prints, over reflection", async () => {
    const lines = [
      '{"value":"one"}',
      '{"value":""}',
      "{not json",
      '{"value":"two","extra":1}',
      '{"value":"3"}',
    ];
    const file = tmp.file("store.jsonl", `${lines.join("\n")}\n`);
    const map = await rpcpool(["map", store, file, "--servers", server.address]);
    expect(map.code, map.stderr).toBe(1);
    const submit = await rpcpool(["submit", store, file, "--servers", server.address, "--queue", redis.url]);
    expect(submit.code, submit.stderr).toBe(0);
    const result = await rpcpool(["result", submit.stdout.trim(), "--wait", "--queue", redis.url]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(map.stdout);
    expect(result.stdout.split("\n")[1]).toBe(
      '{"error":{"code":"INVALID_ARGUMENT","message":"nothing to store"}}',
    );
  });
});
