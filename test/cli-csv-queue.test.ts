import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  noRedis,
  type QueueServer,
  type RedisProcess,
  startQueueServer,
  startRedis,
} from "./support/redis-server.js";
import { rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

/** The table flags travel in a queued job as in a call: quoted cells and --columns (docs/csv-rules.md). */
const tmp = tempDir();
let redis: RedisProcess;
let server: QueueServer | undefined;

describe.skipIf(noRedis)(`the CSV dialect over a queue${noRedis ? `: skipped, ${noRedis}` : ""}`, () => {
  beforeAll(async () => {
    redis = await startRedis();
    server = await startQueueServer(redis.url);
  });
  afterAll(async () => {
    await server?.kill("SIGKILL");
    await redis?.stop();
    tmp.cleanup();
  });

  it("submits --header --columns with quoted cells; the result names the columns", async () => {
    const file = tmp.file("items.csv", '"name";"qty";"note"\n"nut";"2";"a; b"\nbolt;3;"c\nd"\n');
    const submit = await rpcpool([
      "submit",
      "column-sums",
      file,
      "--header",
      "--columns",
      "qty",
      "--queue",
      redis.url,
      "--json",
    ]);
    expect(submit.code, submit.stderr).toBe(0);
    const result = await rpcpool(["result", submit.json().job, "--queue", redis.url, "--wait", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json().results[0]).toMatchObject({ rows: 2, columns: 1, sums: [5], selected: ["qty"] });
  });
});
