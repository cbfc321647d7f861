import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { clientProgram, collectRun, root, rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// A command loads its own module when it runs (client/main.ts, lazy) and the queue's commands only
// when the first word may name one: what a tiny call reads before its first byte is sent is what
// it uses (docs/performance.md, "A tiny call"). RPCPOOL_TRACE_START=1 says where its time went.
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
  const chunks = readFileSync(loads, "utf8")
    .split("\n")
    .filter((url) => url.includes("/dist/client/"))
    .map((url) => url.slice(url.lastIndexOf("/") + 1).replace(/-[A-Z0-9]{8}\.js$/, ""));
  return { ...run, chunks };
}

const otherCommands = [
  "table-commands",
  "queue-commands",
  "call-command",
  "map-command",
  "scale-command",
  "dashboard-command",
  "top-command",
  "init-command",
  "lesson-command",
];

describe("a tiny call's start-up", () => {
  it("circles loads its own command's module and no other command's", async () => {
    const run = await runClient(["circles", "--radii", "1,2", "--servers", servers.list, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json()).toMatchObject({ areas: [Math.PI, 4 * Math.PI] });
    expect(run.chunks).toContain("main.js");
    expect(run.chunks).toContain("small-commands");
    expect(run.chunks.filter((chunk) => otherCommands.includes(chunk))).toEqual([]);
    // The version is read (package.json, through the CommonJS loader) only for -V/--version.
    expect(run.chunks).not.toContain("version");
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
