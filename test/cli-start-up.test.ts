import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { clientProgram, collectRun, root, rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// The client is one script run from V8's code cache (client/code-cache.ts); a command's module is
// evaluated when it runs (client/main.ts, lazy), the packages only some commands use are left
// outside it, and the queue's commands are defined only when the first word may name one: what a
// tiny call reads before its first byte is sent is what it uses (docs/performance.md, "A tiny
// call"). RPCPOOL_TRACE_START=1 says where its time went.
const servers = useServers(1);
const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** The client run with extra environment and node flags; the modules it loaded, by URL. */
async function runClient(args: string[], env: NodeJS.ProcessEnv = {}) {
  const loads = join(tmp.dir, `loads-${Math.random().toString(36).slice(2)}.txt`);
  const hook = join(root, "test", "support", "module-loads.mjs");
  const child = spawn(process.execPath, ["--import", hook, clientProgram, ...args], {
    cwd: root,
    env: { ...process.env, ...env, RPCPOOL_TEST_MODULE_LOADS: loads },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const run = await collectRun(child, `rpcpool ${args.join(" ")}`, 30_000);
  // Unique: a CommonJS entry is seen by both the loader hooks and require's.
  const urls = [...new Set(readFileSync(loads, "utf8").split("\n").filter(Boolean))];
  return { ...run, urls };
}

describe("a tiny call's start-up", () => {
  it("circles runs its one script from the code cache and loads no package", async () => {
    const run = await runClient(["circles", "--radii", "1,2", "--servers", servers.list, "--json"], {
      RPCPOOL_TRACE_START: "1",
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.json()).toMatchObject({ areas: [Math.PI, 4 * Math.PI] });
    expect(run.stderr).toContain("code cache: used");
    // The loader is the only module; the script is read as a file, not loaded as a module.
    expect(run.urls.filter((url) => url.includes("/dist/"))).toEqual([
      expect.stringMatching(/\/dist\/client\/main\.js$/),
    ]);
    expect(run.urls.filter((url) => url.includes("/node_modules/"))).toEqual([]);
    // The version is read (package.json, through the CommonJS loader) only for -V/--version.
    expect(run.urls.filter((url) => url.endsWith("/package.json"))).toEqual([]);
  });

  it("without --servers, the in-process servers load no proto parser: health and reflection are our codecs until asked", async () => {
    const run = await runClient(["circles", "--radii", "1,2", "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json()).toMatchObject({ areas: [Math.PI, 4 * Math.PI] });
    // grpc-js is the servers' own; protobufjs (through proto-loader, grpc-health-check or
    // @grpc/reflection) parsed .proto files at every start: 45 ms of this command.
    expect(run.urls.some((url) => url.includes("/node_modules/@grpc/grpc-js/"))).toBe(true);
    for (const name of ["protobufjs", "@grpc/proto-loader", "grpc-health-check", "@grpc/reflection"])
      expect(run.urls.filter((url) => url.includes(`/node_modules/${name}/`))).toEqual([]);
  });

  it("a code cache V8 rejects costs only the compile: the command runs, and a good cache replaces it", async () => {
    const client = join(tmp.dir, "copy", "dist", "client");
    mkdirSync(client, { recursive: true });
    for (const name of ["main.js", "program.cjs"])
      copyFileSync(join(clientProgram, "..", name), join(client, name));
    writeFileSync(join(client, "program.cache"), "not a code cache");
    const args = [join(client, "main.js"), "circles", "--radii", "1,2", "--servers", servers.list, "--json"];
    const env = { ...process.env, RPCPOOL_TRACE_START: "1" };
    const first = await collectRun(
      spawn(process.execPath, args, { env }),
      "rpcpool circles (rejected cache)",
      30_000,
    );
    expect(first.code, first.stderr).toBe(0);
    expect(first.json()).toMatchObject({ areas: [Math.PI, 4 * Math.PI] });
    expect(first.stderr).toContain("code cache: rejected");
    const second = await collectRun(
      spawn(process.execPath, args, { env }),
      "rpcpool circles (new cache)",
      30_000,
    );
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain("code cache: used");
  });

  it("a queue command, help, and an unknown word still find every command", async () => {
    const help = await rpcpool(["--help"]);
    expect(help.code).toBe(0);
    for (const name of ["circles", "column-sums", "submit", "status", "result", "jobs", "dashboard"]) {
      expect(help.stdout).toMatch(new RegExp(`^  ${name} `, "m"));
    }
    const version = await rpcpool(["--version"]);
    expect(version.code).toBe(0);
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
    expect(version.stdout.trim()).toBe(pkg.version);
    const submit = await rpcpool(["submit", "circles", "--help"]);
    expect(submit.code, submit.stderr).toBe(0);
    expect(submit.stdout).toContain("--radii");
    const typo = await rpcpool(["submt"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("(Did you mean submit?)");
  });

  it("RPCPOOL_TRACE_START=1 prints the stages on stderr in order; without it, nothing", async () => {
    const args = ["circles", "--radii", "1,2", "--servers", servers.list, "--json"];
    const traced = await runClient(args, { RPCPOOL_TRACE_START: "1" });
    expect(traced.code, traced.stderr).toBe(0);
    expect(traced.json()).toMatchObject({ radii: [1, 2] });
    const stages = [
      "bundle evaluated",
      "command line parsed",
      "command's module loaded",
      "socket 1: connecting",
      "Info requested",
      "Circles requested",
      "Circles trailers",
      "first output on stdout",
      "command done",
      "exit",
    ];
    const lines = traced.stderr.split("\n");
    const at = stages.map((stage) => lines.findIndex((line) => line.endsWith(stage)));
    expect(at.every((index) => index > 0)).toBe(true);
    expect(at).toEqual([...at].sort((a, b) => a - b));
    const ms = lines.filter((line) => / ms {2}/.test(line)).map((line) => Number.parseFloat(line));
    expect(ms).toEqual([...ms].sort((a, b) => a - b));
    // Pipelined: the call goes out right behind Info, before Info's answer (a round trip less).
    const infoAnswered = lines.findIndex((line) => line.endsWith("Info trailers"));
    expect(infoAnswered).toBeGreaterThan(0);
    expect(lines.findIndex((line) => line.endsWith("Circles requested"))).toBeLessThan(infoAnswered);

    const plain = await runClient(args, { RPCPOOL_TRACE_START: "" });
    expect(plain.code).toBe(0);
    expect(plain.stderr).toBe("");
  });
});
