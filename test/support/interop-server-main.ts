import { startInteropServer } from "./interop-server.js";

// The grpc-js interop server as a program of its own (test/support/interop-processes.ts bundles
// it): prints its port, then serves until stdin closes, as test/python/interop_server.py does.
async function main() {
  const server = await startInteropServer();
  console.log(server.address.slice(server.address.lastIndexOf(":") + 1));
  process.stdin.resume();
  process.stdin.on("end", async () => {
    await server.close();
    process.exit(0);
  });
}

void main();
