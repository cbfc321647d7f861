import { createServer } from "node:net";
import { Pool, type PoolEvent } from "rpcpool";
import { ComputeServiceDefinition } from "rpcpool/lesson";
import { beforeAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { codeOf, rejection, until } from "./support/waits.js";

// ConnectOptions.pipeline (docs/performance.md, "A tiny call"): connect returns before the
// servers' Info and the first call goes out right behind it. What must stay as a pool that waits
// for Info: a server that never answers is skipped with one warning and the call runs elsewhere,
// a pool that reaches no server fails with connect's error, and a run that requires labels waits
// for the Info that brings them. Real server processes, a real closed port.
const servers = useServers(1, { args: ["--label", "zone=b"] });
let closed = "";
beforeAll(async () => {
  // A port that was free a moment ago: nothing listens there.
  const gone = createServer();
  closed = await new Promise<string>((resolve) =>
    gone.listen(0, "127.0.0.1", () => {
      const { port } = gone.address() as { port: number };
      gone.close(() => resolve(`127.0.0.1:${port}`));
    }),
  );
});
const live = () => servers.servers[0]!.address;

async function pipelined(targets: string[], events: PoolEvent[] = []) {
  const warnings: string[] = [];
  const pool = await Pool.connect(targets, {
    pipeline: true,
    onWarning: (message) => warnings.push(message),
    onEvent: (event) => events.push(event),
  });
  return { pool, warnings, compute: pool.service(ComputeServiceDefinition) };
}

describe("a pipelined pool", () => {
  it("returns before Info and answers the first call; Info still arrives", async () => {
    const { pool, warnings, compute } = await pipelined([live()]);
    try {
      expect(pool.servers[0]!.info).toBeUndefined();
      const reply = await compute.apply("circles", { radii: [1, 2], pi: 0 });
      expect(reply.areas).toEqual([Math.PI, 4 * Math.PI]);
      await until(() => pool.servers[0]!.info !== undefined, "Info has come");
      expect(pool.servers[0]!.info?.labels).toEqual({ zone: "b" });
      expect(warnings).toEqual([]);
    } finally {
      await pool.close();
    }
  });

  it("moves a call sent to a server that never answers Info, and skips that server with one warning", async () => {
    const events: PoolEvent[] = [];
    // The dead server listed first: ties go to it, so the first call is sent there.
    const { pool, warnings, compute } = await pipelined([closed, live()], events);
    try {
      const reply = await compute.apply("circles", { radii: [3], pi: 0 });
      expect(reply.lengths).toEqual([6 * Math.PI]);
      expect(events.filter((e) => e.type === "started").map((e) => (e as { server: string }).server)).toEqual(
        [closed, live()],
      );
      expect(warnings).toEqual([`skipping ${closed}: UNAVAILABLE: connect ECONNREFUSED ${closed}`]);
      expect(pool.servers.map((s) => s.address)).toEqual([live()]);
      // Not held against the retries: a run allowed none still succeeds.
      expect((await compute.apply("circles", { radii: [1], pi: 0 }, { retries: 0 })).areas).toEqual([
        Math.PI,
      ]);
    } finally {
      await pool.close();
    }
  });

  it("that reaches no server fails its calls with the error connect would have thrown", async () => {
    const { pool, warnings, compute } = await pipelined([closed]);
    try {
      const error = await rejection(compute.apply("circles", { radii: [1], pi: 0 }));
      expect(`${error.codeName}: ${error.details}`).toBe(
        `UNAVAILABLE: no server could be reached (${closed}): connect ECONNREFUSED ${closed}`,
      );
      expect(warnings).toHaveLength(1);
    } finally {
      await pool.close();
    }
  });

  it("holds a run that prefers labels until Info has brought them", async () => {
    const { pool } = await pipelined([live()]);
    try {
      // The labels the task's server had when the task was given to it.
      const seen = await pool.apply(async (server) => server.info?.labels, { prefer: { zone: "b" } });
      expect(seen).toEqual({ zone: "b" });
    } finally {
      await pool.close();
    }
  });

  it("holds a run that requires labels until Info has brought them", async () => {
    const { pool, compute } = await pipelined([live()]);
    try {
      const reply = await compute.apply("circles", { radii: [1], pi: 0 }, { require: { zone: "b" } });
      expect(reply.areas).toEqual([Math.PI]);
      const refused = await codeOf(
        compute.apply("circles", { radii: [1], pi: 0 }, { require: { zone: "a" } }),
      );
      expect(refused).toMatch(/^FAILED_PRECONDITION: .*zone=a/);
    } finally {
      await pool.close();
    }
  });
});
