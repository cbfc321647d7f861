/**
 * The layers of docs/architecture.md, checked on every `npm run lint`:
 *   programs (server/, client/) > cli > lesson (the application) > core (rpc, pool, host) > kernels.
 * Each imports only what is below it; the core knows no lesson service.
 */
const kernels = "^src/(csv|exact|wire|metrics|tracing)/";
const core = "^src/(rpc|pool|host)/";
const above = (...layers) => `^src/(${layers.join("|")})/`;

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "An import cycle makes two files one concept: split the shared part out.",
      from: {},
      to: { circular: true },
    },
    {
      name: "kernels-are-leaves",
      severity: "error",
      comment:
        "The CSV scanner, exact arithmetic, wire codec, metrics and tracing import nothing above them.",
      // Their specs may check them against generated messages.
      from: { path: kernels, pathNot: "\\.spec\\.ts$" },
      to: { path: above("rpc", "pool", "host", "lesson", "cli", "report", "gen") },
    },
    {
      name: "core-knows-no-lesson",
      severity: "error",
      comment: "The framework core imports nothing from the lesson, the CLI or the lesson's contract.",
      from: { path: core },
      to: { path: [above("lesson", "cli", "report"), "^src/gen/rpcpool/compute/"] },
    },
    {
      name: "host-and-pool-apart",
      severity: "error",
      comment: "The server host and the client pool do not import each other (both build on src/rpc).",
      from: { path: "^src/host/" },
      to: { path: "^src/pool/" },
    },
    {
      name: "pool-and-host-apart",
      severity: "error",
      from: { path: "^src/pool/" },
      to: { path: "^src/host/" },
    },
    {
      name: "rpc-is-the-base-of-the-core",
      severity: "error",
      comment: "Calls, errors and method specs serve both sides: they import neither.",
      from: { path: "^src/rpc/" },
      to: { path: above("pool", "host") },
    },
    {
      name: "lesson-below-cli",
      severity: "error",
      from: { path: "^src/lesson/" },
      to: { path: above("cli") },
    },
    {
      name: "clients-load-no-grpc-js",
      severity: "error",
      comment:
        "The client side calls over node:http2 (src/pool/transport/http2-transport.ts): loading grpc-js would cost a small program most of its start-up. Servers use grpc-js; the grpc-js transport, chosen by option, imports it on its first call.",
      from: {
        path: "^src/(pool|lesson/client|cli|rpc|queue)/",
        pathNot: [
          "^src/rpc/server-error\\.ts$",
          "^src/cli/server-security\\.ts$",
          "^src/pool/transport/grpc-js-transport\\.ts$",
          "\\.spec\\.ts$",
        ],
      },
      to: { path: "node_modules/@grpc/grpc-js/", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "queue-knows-no-lesson",
      severity: "error",
      comment:
        "The queue (BullMQ on Redis) is generic: a task is a hosted method's path and request bytes. The lesson's job kinds live in src/lesson.",
      from: { path: "^src/queue/" },
      to: { path: [above("lesson", "cli", "report", "host"), "^src/gen/rpcpool/compute/"] },
    },
    {
      name: "core-loads-no-queue",
      severity: "error",
      comment: "BullMQ takes long to load: the core never imports the queue; programs load it on demand.",
      from: { path: core },
      to: { path: "^src/queue/" },
    },
    {
      name: "prom-client-on-demand",
      severity: "error",
      comment:
        "prom-client is loaded only when metrics are asked for (rpcpool-server --metrics, pool.metrics()): only the metrics modules import it (others its types), and those are imported dynamically.",
      from: { pathNot: "^src/(host|pool)/metrics/" },
      to: { path: "node_modules/prom-client/", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "metrics-modules-on-demand",
      severity: "error",
      from: { pathNot: "^src/(host|pool)/metrics/" },
      to: {
        path: "^src/(host|pool)/metrics/(prometheus-|metrics-endpoint)",
        dependencyTypesNot: ["dynamic-import", "type-only"],
      },
    },
    {
      name: "library-below-programs",
      severity: "error",
      comment: "The library never imports the programs.",
      from: { path: "^src/" },
      to: { path: "^(server|client)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default"],
    },
  },
};
