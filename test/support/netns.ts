import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { createInterface } from "node:readline";
import { collectRun } from "./run-program.js";

// Namespace names carry the creating process's pid, so a later run can remove what a killed run left.
const prefix = "rpcpool-t";

/** Why virtual hosts cannot be built here, or undefined when they can (root, iproute2, CAP_SYS_ADMIN). */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== "linux") return "network namespaces need Linux";
  if (process.getuid?.() !== 0) return "needs root to create network namespaces (CI runs as root)";
  if (spawnSync("ip", ["-V"]).error) return "the ip command is missing (apt-get install iproute2)";
  // A container without CAP_SYS_ADMIN has `ip` but cannot create namespaces: try once.
  const probe = `${prefix}${process.pid}-probe`;
  const added = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
  if (added.status !== 0) return `ip netns add failed: ${added.stderr.trim()}`;
  spawnSync("ip", ["netns", "del", probe]);
  return undefined;
}

/** One virtual machine: a network namespace with loopback and one address on the shared /24. */
export interface VirtualHost {
  netns: string;
  address: string;
  /** Its cable's end on the switch (a veth in the switch namespace). */
  switchPort: string;
}

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Deletes namespaces left by test processes that died before cleaning up (SIGKILL, OOM). */
function sweepOrphans(): void {
  const list = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout ?? "";
  for (const line of list.split("\n")) {
    const name = line.split(" ")[0];
    const pid = Number(new RegExp(`^${prefix}(\\d+)-`).exec(name)?.[1]);
    if (pid && !alive(pid)) spawnSync("ip", ["netns", "del", name]);
  }
}

/**
 * Hosts on one Ethernet segment, all on this machine: a namespace per host, each wired by a veth
 * pair to a bridge that lives in a switch namespace of its own. Every link is inside a namespace
 * created here, so nothing touches the machine's own network, and deleting the namespaces deletes
 * the links. Addresses are 10.231.R.1..n/24 with a random R; they exist only inside these
 * namespaces. Cleanup runs on destroy(), on process exit, on SIGINT/SIGTERM/SIGHUP, and when a
 * forked test worker loses its parent.
 */
export class VirtualNetwork {
  readonly hosts: VirtualHost[] = [];
  readonly subnet: string;
  readonly #switch: string;
  readonly #children = new Set<ChildProcess>();
  #destroyed = false;
  readonly #onExit = () => this.destroy();
  readonly #onSignal = (signal: NodeJS.Signals) => {
    this.destroy();
    // Let the signal do what it would have done without this handler.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };

  constructor(hostCount: number) {
    sweepOrphans();
    const id = `${prefix}${process.pid}-${randomInt(1 << 30).toString(36)}`;
    const octet = randomInt(1, 255);
    this.subnet = `10.231.${octet}.0/24`;
    this.#switch = `${id}-sw`;
    process.once("exit", this.#onExit);
    // A test runner's worker whose parent died (Ctrl-C on the runner) gets no signal: only this.
    process.once("disconnect", this.#onExit);
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(signal, this.#onSignal);
    try {
      ip("netns", "add", this.#switch);
      ip("-n", this.#switch, "link", "add", "br0", "type", "bridge");
      ip("-n", this.#switch, "link", "set", "br0", "up");
      for (let i = 1; i <= hostCount; i++) {
        const host = { netns: `${id}-h${i}`, address: `10.231.${octet}.${i}`, switchPort: `port${i}` };
        this.hosts.push(host);
        ip("netns", "add", host.netns);
        ip("-n", host.netns, "link", "set", "lo", "up");
        const cable = `link add ${host.switchPort} type veth peer name eth0 netns ${host.netns}`;
        ip("-n", this.#switch, ...cable.split(" "));
        ip("-n", this.#switch, "link", "set", host.switchPort, "master", "br0", "up");
        ip("-n", host.netns, "addr", "add", `${host.address}/24`, "dev", "eth0");
        ip("-n", host.netns, "link", "set", "eth0", "up");
      }
    } catch (error) {
      this.destroy();
      throw error;
    }
  }

  /** Starts `node ARGS` inside a host (ip netns exec replaces itself with node: the pid is node's). */
  spawnNode(host: VirtualHost, args: string[], options: { cwd?: string } = {}): ChildProcess {
    const child = spawn("ip", ["netns", "exec", host.netns, process.execPath, ...args], {
      cwd: options.cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.#children.add(child);
    child.once("exit", () => this.#children.delete(child));
    return child;
  }

  /** Runs `node ARGS` inside a host to its end and collects its output; killed after timeoutMs. */
  runNode(host: VirtualHost, args: string[], options: { cwd?: string; timeoutMs?: number } = {}) {
    const child = this.spawnNode(host, args, options);
    return collectRun(child, `in ${host.netns}: ${args.join(" ")}`, options.timeoutMs);
  }

  /** Starts a server program inside a host and resolves its first stdout line. */
  async startServer(host: VirtualHost, program: string, args: string[]) {
    const child = this.spawnNode(host, [program, ...args]);
    let stderr = "";
    child.stderr!.on("data", (d) => {
      stderr += d;
    });
    const lines = createInterface({ input: child.stdout! });
    const first = await new Promise<string>((resolve, reject) => {
      lines.once("line", resolve);
      child.once("exit", (code) => reject(new Error(`server in ${host.netns} exited ${code}: ${stderr}`)));
    });
    lines.close();
    child.stdout!.resume();
    return { process: child, firstLine: first, stderr: () => stderr };
  }

  /** Pulls a host's cable out at the switch: its packets are dropped silently, as on a real cut. */
  cut(host: VirtualHost): void {
    ip("-n", this.#switch, "link", "set", host.switchPort, "down");
  }

  /** Kills the processes started here and deletes the links and namespaces. Safe to call twice. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    process.removeListener("exit", this.#onExit);
    process.removeListener("disconnect", this.#onExit);
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const)
      process.removeListener(signal, this.#onSignal);
    for (const child of this.#children) child.kill("SIGKILL");
    // Links first (a namespace still pinned by a process would otherwise keep its veth), then names.
    for (const host of this.hosts) spawnSync("ip", ["-n", this.#switch, "link", "del", host.switchPort]);
    spawnSync("ip", ["-n", this.#switch, "link", "del", "br0"]);
    for (const host of this.hosts) spawnSync("ip", ["netns", "del", host.netns]);
    spawnSync("ip", ["netns", "del", this.#switch]);
  }
}
