import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ensureLessonTables } from "rpcpool/lesson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { bullPrefix, taskQueueName } from "../src/queue/job-keys.js";
import { noRedis, type RedisProcess, startRedis } from "./support/redis-server.js";
import { clientProgram, root, serverProgram } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// The autoscaling overlays of deploy/kubernetes (docs/kubernetes.md): no cluster runs here, so
// what they name is checked against the code and against real processes: the Redis list KEDA
// measures is the one a submitted job's tasks wait in, and the metric the HPA reads is one a
// server started with --metrics serves.

const kubernetes = join(root, "deploy", "kubernetes");
const yamlDocs = (path: string): any[] =>
  parseAllDocuments(readFileSync(path, "utf8")).map((d) => {
    if (d.errors.length > 0) throw new Error(`${path}: ${d.errors.join("; ")}`);
    return d.toJS();
  });
const base = () => yamlDocs(join(kubernetes, "deployment.yaml"))[0];
const baseArgs = (): string[] => base().spec.template.spec.containers[0].args;
/** `--flag=value` from a list of args. */
const flag = (args: string[], name: string) =>
  args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);

/** An overlay's kustomization, and the JSON-patch operations it applies to the base Deployment. */
function overlay(name: string) {
  const kustomization = yamlDocs(join(root, "deploy", name, "kustomization.yaml"))[0];
  const patch = kustomization.patches.find((p: any) => p.target.kind === "Deployment");
  // Objects the overlay adds go into the base's namespace, as the base's own do.
  const namespace = yamlDocs(join(kubernetes, "kustomization.yaml"))[0].namespace;
  expect(kustomization.namespace).toBe(namespace);
  return { kustomization, patch, ops: parseOps(patch?.patch) };
}
const parseOps = (text: string | undefined): any[] => (text ? parseAllDocuments(text)[0]!.toJS() : []);
const addedArgs = (ops: any[]) =>
  ops.filter((op) => op.path === "/spec/template/spec/containers/0/args/-").map((op) => op.value as string);

describe("the KEDA ScaledObject (deploy/kubernetes-autoscale-queue)", () => {
  const dir = join(root, "deploy", "kubernetes-autoscale-queue");
  const scaled = () => yamlDocs(join(dir, "scaledobject.yaml"))[0];

  it("scales the servers' Deployment, and the servers work the queue it watches", () => {
    const { kustomization, patch, ops } = overlay("kubernetes-autoscale-queue");
    expect(kustomization.resources).toEqual(["../kubernetes", "scaledobject.yaml"]);
    expect(patch.target.name).toBe(base().metadata.name);
    const object = scaled();
    expect(object.apiVersion).toBe("keda.sh/v1alpha1");
    expect(object.kind).toBe("ScaledObject");
    expect(object.spec.scaleTargetRef).toMatchObject({ kind: "Deployment", name: base().metadata.name });
    expect(object.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    // The Redis the servers take tasks from is the one whose lists KEDA measures.
    const queue = new URL(flag(addedArgs(ops), "--queue")!);
    for (const trigger of object.spec.triggers) {
      expect(trigger.type).toBe("redis");
      expect(trigger.metadata.address).toBe(`${queue.hostname}:${queue.port}`);
    }
  });

  it("measures the waiting tasks of each lesson method that is queued, keyed as job-keys.ts names them", () => {
    const lists = scaled().spec.triggers.map((t: any) => t.metadata.listName);
    const methods = ["ColumnSums", "WeightedMeans"].map((m) => `/rpcpool.compute.v1.ComputeService/${m}`);
    expect(lists).toEqual(methods.map((path) => `${bullPrefix}:${taskQueueName(path)}:prioritized`));
  });

  describe.skipIf(noRedis !== undefined)("against a real redis-server", () => {
    let redis: RedisProcess;
    const tmp = tempDir("rpcpool-keda-");
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      await redis?.stop();
      tmp.cleanup();
    });

    it("a submitted column-sums job's task waits in the list the ScaledObject measures", async () => {
      const [file] = await ensureLessonTables(tmp.dir);
      const child = spawn(
        process.execPath,
        [clientProgram, "submit", "column-sums", file!, "--queue", redis.url],
        {
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      const [code] = await once(child, "exit");
      expect(code).toBe(0);
      const list = scaled().spec.triggers[0].metadata.listName;
      const redisCli = (...args: string[]) =>
        spawnSync("redis-cli", ["-p", String(redis.port), ...args], { encoding: "utf8" }).stdout.trim();
      // No server works the queue: the task waits there, in a sorted set (every task has a
      // BullMQ priority), which KEDA's redis trigger counts with ZCARD; BullMQ's wait list is empty.
      expect(redisCli("TYPE", list)).toBe("zset");
      expect(redisCli("ZCARD", list)).toBe("1");
      expect(redisCli("LLEN", list.replace(/:prioritized$/, ":wait"))).toBe("0");
    }, 30_000);
  });
});

describe("the HPA on calls in flight (deploy/kubernetes-autoscale-calls)", () => {
  const dir = join(root, "deploy", "kubernetes-autoscale-calls");
  const hpa = () => yamlDocs(join(dir, "hpa.yaml"))[0];
  const metricName = () => hpa().spec.metrics[0].pods.metric.name;

  it("scales the servers' Deployment on a pods metric, one call per worker thread on average", () => {
    const { kustomization, patch } = overlay("kubernetes-autoscale-calls");
    expect(kustomization.resources).toEqual(["../kubernetes", "hpa.yaml"]);
    expect(patch.target.name).toBe(base().metadata.name);
    const object = hpa();
    expect(object.apiVersion).toBe("autoscaling/v2");
    expect(object.spec.scaleTargetRef).toMatchObject({ kind: "Deployment", name: base().metadata.name });
    const [metric] = object.spec.metrics;
    expect(metric.type).toBe("Pods");
    expect(metric.pods.target.type).toBe("AverageValue");
    expect(metric.pods.target.averageValue).toBe(flag(baseArgs(), "--workers"));
  });

  it("the servers serve /metrics on the port the pod declares and Prometheus is told to scrape", () => {
    const { ops } = overlay("kubernetes-autoscale-calls");
    const port = Number(flag(addedArgs(ops), "--metrics")!.split(":")[1]);
    const declared = ops.find((op) => op.path === "/spec/template/spec/containers/0/ports/-").value;
    expect(declared).toMatchObject({ name: "metrics", containerPort: port });
    const annotations = ops.find((op) => op.path === "/spec/template/metadata/annotations").value;
    expect(annotations["prometheus.io/port"]).toBe(String(port));
    expect(annotations["prometheus.io/path"]).toBe("/metrics");
  });

  it("the Prometheus adapter's rule serves that metric under the HPA's name", () => {
    const values = yamlDocs(join(dir, "prometheus-adapter-values.yaml"))[0];
    const [rule] = values.rules.custom;
    expect(rule.seriesQuery.startsWith(`${metricName()}{`)).toBe(true);
    expect(rule.name.as).toBe(metricName());
    expect(rule.resources.overrides).toMatchObject({
      pod: { resource: "pod" },
      namespace: { resource: "namespace" },
    });
  });

  it("a real server started with the overlay's --metrics flag serves the metric the HPA names", async () => {
    const child = spawn(
      process.execPath,
      [serverProgram, "--port", "0", "--workers", "1", "--metrics", "127.0.0.1:0"],
      {
        stdio: ["ignore", "pipe", "ignore"],
      },
    );
    try {
      let stdout = "";
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("the server did not start")), 30_000);
        child.stdout!.on("data", (d) => {
          stdout += d;
          const found = /metrics on (\S+)/.exec(stdout);
          if (found) {
            clearTimeout(timer);
            resolve(found[1]!);
          }
        });
      });
      const text = await (await fetch(url)).text();
      expect(text).toMatch(new RegExp(`^# TYPE ${metricName()} gauge$`, "m"));
      expect(text).toMatch(new RegExp(`^${metricName()} 0$`, "m"));
    } finally {
      child.kill();
      await once(child, "exit");
    }
  }, 40_000);
});

describe("the overlays render with kustomize (kubectl kustomize), when kubectl is installed", () => {
  const render = (name: string, skip: (when: boolean, why: string) => void) => {
    skip(spawnSync("kubectl", ["version", "--client"]).status !== 0, "kubectl is not installed");
    const run = spawnSync("kubectl", ["kustomize", join(root, "deploy", name)], { encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    return parseAllDocuments(run.stdout).map((d) => d.toJS());
  };
  const server = (docs: any[]) => docs.find((d) => d.kind === "Deployment").spec.template.spec.containers[0];

  it("kubernetes-autoscale-queue: the ScaledObject in the servers' namespace, the servers with --queue", ({
    skip,
  }) => {
    const docs = render("kubernetes-autoscale-queue", skip);
    expect(docs.find((d) => d.kind === "ScaledObject").metadata.namespace).toBe("rpcpool");
    expect(flag(server(docs).args, "--queue")).toMatch(/^redis:\/\//);
  });

  it("kubernetes-autoscale-calls: the HPA in the servers' namespace, the servers with --metrics", ({
    skip,
  }) => {
    const docs = render("kubernetes-autoscale-calls", skip);
    expect(docs.find((d) => d.kind === "HorizontalPodAutoscaler").metadata.namespace).toBe("rpcpool");
    expect(flag(server(docs).args, "--metrics")).toBe("0.0.0.0:9464");
    expect(server(docs).ports.map((p: any) => p.name)).toEqual(["grpc", "metrics"]);
  });
});
