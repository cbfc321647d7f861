import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { initProject, packageName, projectManifest } from "./init-command.js";

const folder = { dir: mkdtempSync(join(tmpdir(), "rpcpool-init-spec-")) };
afterAll(() => rmSync(folder.dir, { recursive: true, force: true }));

/** A fake rpcpool package at `dir`, with a lockfile or without (as the registry's has none). */
function fakeRpcpool(dir: string, lockfile: boolean) {
  mkdirSync(dir, { recursive: true });
  const manifest = {
    name: "rpcpool",
    version: "1.2.3",
    engines: { node: ">=20" },
    dependencies: { "@bufbuild/protobuf": "^2.17.0" },
    devDependencies: {
      "@bufbuild/buf": "1.74.0",
      "ts-proto": "^2.18.0",
      typescript: "~5.9",
      "@types/node": "^20.19.43",
    },
  };
  writeFileSync(join(dir, "package.json"), JSON.stringify(manifest));
  if (lockfile) {
    const packages = Object.fromEntries(
      ["@bufbuild/protobuf", "@bufbuild/buf", "ts-proto", "typescript", "@types/node"].map((p, i) => [
        `node_modules/${p}`,
        { version: `9.9.${i}` },
      ]),
    );
    writeFileSync(join(dir, "package-lock.json"), JSON.stringify({ packages }));
  }
  return dir;
}

describe("rpcpool init's package.json", () => {
  it("from a clone: a file: link to it, and its lockfile's exact versions", () => {
    const root = fakeRpcpool(join(folder.dir, "clone"), true);
    const manifest = projectManifest("words", root);
    expect(manifest.dependencies).toEqual({ rpcpool: `file:${root}`, "@bufbuild/protobuf": "9.9.0" });
    expect(manifest.devDependencies).toEqual({
      "@bufbuild/buf": "9.9.1",
      "ts-proto": "9.9.2",
      typescript: "9.9.3",
      "@types/node": "9.9.4",
    });
  });

  it("from the registry (under node_modules, no lockfile): its version, and its package.json's ranges", () => {
    const root = fakeRpcpool(join(folder.dir, "app", "node_modules", "rpcpool"), false);
    const manifest = projectManifest("words", root);
    expect(manifest.dependencies).toEqual({ rpcpool: "^1.2.3", "@bufbuild/protobuf": "^2.17.0" });
    expect(manifest.devDependencies).toMatchObject({ typescript: "~5.9", "ts-proto": "^2.18.0" });
  });

  it("is named for the folder, as npm allows", () => {
    expect(packageName("Words Service!")).toBe("words-service");
    expect(packageName("_x")).toBe("x");
    expect(packageName("---")).toBe("my-service");
  });
});

describe("initProject", () => {
  it("writes the template (.gitignore under its name) and refuses a folder with files in it", async () => {
    const dir = join(folder.dir, "new-project");
    const written = await initProject(dir);
    expect(written).toEqual(
      expect.arrayContaining([".gitignore", "package.json", "proto/words/v1/words.proto", "src/service.ts"]),
    );
    await expect(initProject(dir)).rejects.toThrow(/is not empty .*new or empty folder/);
    const file = join(folder.dir, "a-file");
    writeFileSync(file, "x");
    await expect(initProject(file)).rejects.toThrow(/is a file/);
  });
});
