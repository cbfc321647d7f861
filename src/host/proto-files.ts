import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The .proto files of the contract, shipped with the package (for reflection and other languages). */
export const protoFiles = [
  "rpcpool/compute/v1/table.proto",
  "rpcpool/compute/v1/compute.proto",
  "rpcpool/compute/v1/demo.proto",
  "rpcpool/compute/v1/batch.proto",
];

/** The proto/ folder, found upwards from this module whether it runs from src/ or dist/src/. */
export function protoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "proto");
    if (existsSync(join(candidate, protoFiles[0]))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error("proto/ folder not found beside the rpcpool package");
    dir = parent;
  }
}
