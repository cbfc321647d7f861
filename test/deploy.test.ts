import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { credentials, makeClientConstructor } from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import { Pool } from "rpcpool";
import { lessonFileNames } from "rpcpool/lesson";
import { afterAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { healthCheck } from "./support/grpc-clients.js";
import { root } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// No container engine or cluster runs here: the manifests are parsed and cross-checked, and the
// server is started exactly as the image starts it, from the repository root.

const deploy = join(root, "deploy");
const kubernetes = join(deploy, "kubernetes");

function manifests(): Array<{ file: string; doc: any }> {
  return readdirSync(kubernetes)
    .filter((name) => /\.ya?ml$/.test(name))
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(kubernetes, file), "utf8")).map((document) => {
        if (document.errors.length > 0) throw new Error(`${file}: ${document.errors.join("; ")}`);
        return { file, doc: document.toJS() };
      }),
    );
}

function ofKind(kind: string): any {
  const found = manifests().filter((m) => m.doc.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!.doc;
}

/** Dockerfile instructions, continuation lines joined and comments dropped. */
function dockerfile(): Array<{ instruction: string; args: string }> {
  return readFileSync(join(deploy, "Dockerfile"), "utf8")
    .replace(/\\\n/g, " ")
    .split("\n")
    .filter((line) => line.trim() && !line.trim().startsWith("#"))
    .map((line) => {
      const [, instruction, args] = /^\s*(\S+)\s+(.*)$/.exec(line)!;
      return { instruction: instruction!.toUpperCase(), args: args!.trim() };
    });
}

/** The last stage's value of a JSON-form (exec form) instruction such as ENTRYPOINT or CMD. */
function execForm(instruction: string): string[] {
  const found = dockerfile().filter((i) => i.instruction === instruction);
  expect(found.length, instruction).toBeGreaterThan(0);
  return JSON.parse(found.at(-1)!.args);
}

const containerOf = (deployment: any) => deployment.spec.template.spec.containers[0];
/** `--flag=value` or `--flag value` from a container's args. */
function flag(args: string[], name: string): string | undefined {
  const index = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (index < 0) return undefined;
  return args[index]!.includes("=") ? args[index]!.slice(name.length + 1) : args[index + 1];
}

describe("Kubernetes manifests", () => {
  it("parse, with the expected kinds, and the kustomization lists files that exist", () => {
    const kinds = manifests().map((m) => m.doc.kind);
    expect(kinds.sort()).toEqual(["Deployment", "Job", "Kustomization", "Namespace", "Service"]);
    const kustomization = ofKind("Kustomization");
    for (const resource of kustomization.resources) expect(existsSync(join(kubernetes, resource))).toBe(true);
    expect(kustomization.namespace).toBe(ofKind("Namespace").metadata.name);
  });

  it("run three servers with native gRPC probes on the container's port and resource requests", () => {
    const deployment = ofKind("Deployment");
    expect(deployment.apiVersion).toBe("apps/v1");
    expect(deployment.spec.replicas).toBe(3);
    const container = containerOf(deployment);
    const grpcPort = container.ports.find((p: any) => p.name === "grpc");
    expect(grpcPort.containerPort).toBe(50051);
    expect(flag(container.args, "--port")).toBe(String(grpcPort.containerPort));
    expect(flag(container.args, "--host")).toBe("0.0.0.0");
    for (const probe of [container.readinessProbe, container.livenessProbe]) {
      expect(probe.grpc.port).toBe(grpcPort.containerPort);
    }
    expect(container.resources.requests).toMatchObject({ cpu: expect.anything(), memory: expect.anything() });
    expect(container.resources.limits).toMatchObject({ memory: expect.anything() });
  });

  it("give a draining server time to finish: termination grace and liveness both outlast --grace", () => {
    const deployment = ofKind("Deployment");
    const container = containerOf(deployment);
    const graceMs = Number(flag(container.args, "--grace") ?? 30_000);
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(graceMs);
    const liveness = container.livenessProbe;
    expect(liveness.periodSeconds * liveness.failureThreshold * 1000).toBeGreaterThan(graceMs);
    // The pod name the server stamps on replies comes from the downward API.
    const podName = container.env.find((e: any) => e.name === "POD_NAME");
    expect(podName.valueFrom.fieldRef.fieldPath).toBe("metadata.name");
  });

  it("expose the servers through a headless Service whose selector matches the pods", () => {
    const service = ofKind("Service");
    const deployment = ofKind("Deployment");
    expect(service.spec.clusterIP).toBe("None");
    const podLabels = deployment.spec.template.metadata.labels;
    expect(podLabels).toMatchObject(service.spec.selector);
    expect(podLabels).toMatchObject(deployment.spec.selector.matchLabels);
    const port = service.spec.ports.find((p: any) => p.name === "grpc");
    expect(port.port).toBe(50051);
    const target = containerOf(deployment).ports.find(
      (p: any) => p.name === port.targetPort || p.containerPort === port.targetPort,
    );
    expect(target, `targetPort ${port.targetPort}`).toBeDefined();
  });

  it("run the client Job against dns:/// of that Service, in the same namespace", () => {
    const job = ofKind("Job");
    const service = ofKind("Service");
    const namespace = ofKind("Namespace").metadata.name;
    expect(job.metadata.namespace).toBe(namespace);
    const client = job.spec.template.spec.containers[0];
    expect(client.command).toEqual(["node", "dist/client/main.js"]);
    expect(client.args[0]).toBe("column-sums");
    const port = service.spec.ports.find((p: any) => p.name === "grpc").port;
    expect(flag(client.args, "--servers")).toBe(
      `dns:///${service.metadata.name}.${namespace}.svc.cluster.local:${port}`,
    );
    expect(job.spec.template.spec.restartPolicy).toBe("Never");
    // The files it sums are the ones its init container writes into the shared volume.
    const mount = client.volumeMounts.find((v: any) => v.name === "data").mountPath;
    expect(client.args.filter((a: string) => a.startsWith(`${mount}/`))).toEqual(
      lessonFileNames.map((name) => `${mount}/${name}`),
    );
  });

  it("write the lesson's tables with the Job's init container command (run here with the repo as /app)", () => {
    const job = ofKind("Job");
    const init = job.spec.template.spec.initContainers[0];
    const mount = init.volumeMounts.find((v: any) => v.name === "data").mountPath;
    const tmp = tempDir("rpcpool-deploy-");
    try {
      const command = init.command.map((part: string) =>
        part.replaceAll("/app/", `${root}/`).replaceAll(`"${mount}"`, JSON.stringify(tmp.dir)),
      );
      expect(command[0]).toBe("node");
      const run = spawnSync(process.execPath, command.slice(1), { cwd: root, encoding: "utf8" });
      expect(run.status, run.stderr).toBe(0);
      expect(readdirSync(tmp.dir).sort()).toEqual([...lessonFileNames].sort());
    } finally {
      tmp.cleanup();
    }
  });

  it("render with kustomize (kubectl kustomize), when kubectl is installed", ({ skip }) => {
    skip(spawnSync("kubectl", ["version", "--client"]).status !== 0, "kubectl is not installed");
    const run = spawnSync("kubectl", ["kustomize", kubernetes], { encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const rendered = parseAllDocuments(run.stdout).map((d) => d.toJS());
    expect(rendered.map((d) => d.kind).sort()).toEqual(["Deployment", "Namespace", "Service"]);
    for (const doc of rendered.filter((d) => d.kind !== "Namespace")) {
      expect(doc.metadata.namespace).toBe("rpcpool");
    }
  });
});

describe("a user's service: the own-service overlay, deploy/Dockerfile.service, the systemd unit", () => {
  const overlay = join(deploy, "kubernetes-own-service");
  const serviceDockerfile = () =>
    readFileSync(join(deploy, "Dockerfile.service"), "utf8")
      .split("\n")
      .filter((line) => line.trim() && !line.trim().startsWith("#"))
      .map((line) => /^\s*(\S+)\s+(.*)$/.exec(line)!.slice(1));

  it("the image is the rpcpool image plus the module's dist/ and proto/, and its CMD names the module", () => {
    const instructions = serviceDockerfile();
    expect(instructions.find(([i]) => i === "FROM")?.[1]).toBe("$" + "{RPCPOOL_IMAGE}"); // the ARG
    const copies = instructions.filter(([i]) => i === "COPY").map(([, args]) => args);
    expect(copies).toEqual(["dist /app/service/dist", "proto /app/service/proto"]);
    const cmd: string[] = JSON.parse(instructions.find(([i]) => i === "CMD")![1]!);
    // Relative to the base image's WORKDIR (/app), inside the copied dist/.
    expect(flag(cmd, "--service")).toBe("service/dist/service.js");
    expect(flag(cmd, "--port")).toBe(flag(execForm("CMD"), "--port"));
    expect(existsSync(join(deploy, "Dockerfile.service.dockerignore"))).toBe(true);
  });

  it("the overlay builds on the base manifests and adds the image's --service to the Deployment's args", () => {
    const kustomization = parseAllDocuments(
      readFileSync(join(overlay, "kustomization.yaml"), "utf8"),
    )[0]!.toJS();
    expect(kustomization.resources).toEqual(["../kubernetes"]);
    const [patch] = kustomization.patches;
    expect(patch.target).toEqual({ kind: "Deployment", name: ofKind("Deployment").metadata.name });
    const ops = parseAllDocuments(patch.patch)[0]!.toJS();
    expect(ops).toEqual([
      {
        op: "add",
        path: "/spec/template/spec/containers/0/args/-",
        value: "--service=service/dist/service.js",
      },
    ]);
    const cmd: string[] = JSON.parse(serviceDockerfile().find(([i]) => i === "CMD")![1]!);
    expect(ops[0].value).toBe(`--service=${flag(cmd, "--service")}`);
  });

  it("the overlay renders with kustomize (kubectl kustomize), when kubectl is installed", ({ skip }) => {
    skip(spawnSync("kubectl", ["version", "--client"]).status !== 0, "kubectl is not installed");
    const run = spawnSync("kubectl", ["kustomize", overlay], { encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const deployment = parseAllDocuments(run.stdout)
      .map((d) => d.toJS())
      .find((d) => d.kind === "Deployment");
    expect(containerOf(deployment).args).toContain("--service=service/dist/service.js");
    expect(containerOf(deployment).image).toBe("words:0.1.0");
  });

  it("the systemd unit starts the project's own rpcpool-server by path with --service, from its folder", () => {
    const unit = readFileSync(join(deploy, "systemd", "rpcpool-service.service"), "utf8");
    const value = (key: string) => new RegExp(`^${key}=(.*)$`, "m").exec(unit)?.[1];
    const folder = value("WorkingDirectory")!;
    const execStart = value("ExecStart")!.split(" ");
    expect(execStart.slice(0, 2)).toEqual([
      "/usr/bin/node",
      `${folder}/node_modules/rpcpool/dist/server/main.js`,
    ]);
    expect(flag(execStart, "--service")).toBe("dist/service.js");
    expect(value("KillSignal")).toBe("SIGTERM");
  });
});

describe("container image", () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) child.kill("SIGKILL");
  });

  it("is built in two node:20-slim stages, runs as a non-root user, and stops with SIGTERM", () => {
    const instructions = dockerfile();
    const from = instructions.filter((i) => i.instruction === "FROM").map((i) => i.args);
    expect(from).toHaveLength(2);
    for (const image of from) expect(image).toMatch(/^node:20-slim\b/);
    const run = instructions.filter((i) => i.instruction === "RUN").map((i) => i.args);
    expect(
      run.some((r) => /npm ci\b.*--omit=dev.*--ignore-scripts|--ignore-scripts.*--omit=dev/.test(r)),
    ).toBe(true);
    const copies = instructions.filter((i) => i.instruction === "COPY").map((i) => i.args);
    expect(copies).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/--from=build .*dist/),
        expect.stringMatching(/--from=build .*proto/),
      ]),
    );
    const user = instructions.filter((i) => i.instruction === "USER").at(-1)?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(instructions.find((i) => i.instruction === "STOPSIGNAL")?.args).toBe("SIGTERM");
    const port = flag(execForm("CMD"), "--port");
    expect(instructions.find((i) => i.instruction === "EXPOSE")?.args).toBe(port);
    expect(existsSync(join(deploy, "Dockerfile.dockerignore"))).toBe(true);
  });

  /** Starts `ENTRYPOINT ARGS` from the repository root (the image's WORKDIR holds the same files). */
  async function startAsImage(args: string[]) {
    const entrypoint = execForm("ENTRYPOINT");
    expect(entrypoint[0]).toBe("node");
    // Port 0 instead of the image's 50051: nothing else on this machine may hold that port.
    const local = [...entrypoint.slice(1), ...args].map((a) =>
      a === "50051" ? "0" : a === "--port=50051" ? "--port=0" : a,
    );
    const child = spawn(process.execPath, local, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    const firstLine = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once("line", resolve);
      child.once("exit", (code) => reject(new Error(`server exited ${code}`)));
    });
    const [, port] = /^listening on 0\.0\.0\.0:(\d+)$/.exec(firstLine) ?? [];
    expect(port, firstLine).toBeDefined();
    // Bound on every interface; connect through loopback only.
    return { child, address: `127.0.0.1:${port}` };
  }

  it("starts the server as its ENTRYPOINT and CMD do, healthy, and drains on SIGTERM to exit 0", async () => {
    const { child, address } = await startAsImage(execForm("CMD"));
    expect(await healthCheck(address)).toBe("SERVING");

    // A watcher (as a load balancer would keep) sees NOT_SERVING the moment the server drains.
    const Health = makeClientConstructor(healthService, "Health");
    const client = new Health(address, credentials.createInsecure()) as any;
    const watch = client.watch({ service: "" });
    const statuses: string[] = [];
    const notServing = new Promise<void>((resolve, reject) => {
      watch.on("data", (reply: { status: string }) => {
        statuses.push(reply.status);
        if (reply.status === "SERVING") child.kill("SIGTERM");
        if (reply.status === "NOT_SERVING") resolve();
      });
      watch.on("error", (error: Error & { code?: number }) => {
        // Our own cancel below ends the stream with CANCELLED.
        if (error.code !== 1) reject(error);
      });
    });
    const exit = once(child, "exit");
    await notServing;
    watch.cancel();
    client.close();
    expect(statuses).toEqual(["SERVING", "NOT_SERVING"]);
    const [code] = await exit;
    expect(code).toBe(0);
  });

  it("starts with the Deployment's args (the pod name from the downward API stamped on replies)", async () => {
    const args = containerOf(ofKind("Deployment")).args.map((a: string) =>
      a.replace("$(POD_NAME)", "rpcpool-server-abc12"),
    );
    const { child, address } = await startAsImage(args);
    expect(await healthCheck(address)).toBe("SERVING");
    const pool = await Pool.connect([address]);
    try {
      expect((await pool.servers[0]!.refreshInfo()).server).toBe("rpcpool-server-abc12");
    } finally {
      await pool.close();
    }
    const exit = once(child, "exit");
    child.kill("SIGTERM");
    const [code] = await exit;
    expect(code).toBe(0);
  });
});
