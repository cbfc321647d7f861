import { type LocalServer, startLocalServers } from "rpcpool/protocol";
import { afterAll, beforeAll } from "vitest";

/** Starts n real server processes on 127.0.0.1:0 for a test file, stopped after it. */
export function useServers(n: number, options: { workers?: number; args?: string[] } = {}) {
  const state = { servers: [] as LocalServer[], list: "" };
  beforeAll(async () => {
    state.servers = await startLocalServers(n, {
      workers: options.workers ?? 1,
      args: options.args,
      stderr: "ignore",
    });
    state.list = state.servers.map((s) => s.address).join(",");
  });
  afterAll(async () => {
    await Promise.all(state.servers.map((s) => s.stop()));
  });
  return state;
}
