import type { Stats } from "node:fs";

/**
 * What a regular file was: a client notes it when a job plans the file, and a server when it opens
 * one of its own; both compare the file with it after reading, as a file rewritten in between
 * would mix old and new bytes.
 */
export interface FileSnapshot {
  size: number;
  mtimeMs: number;
  /** The change time: every write and every `utimes` sets it, and no user can set it back. */
  ctimeMs: number;
  ino: number;
  dev: number;
}

export function snapshotOf(stats: Stats): FileSnapshot {
  return { size: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs, ino: stats.ino, dev: stats.dev };
}

export function sameFile(a: FileSnapshot, b: FileSnapshot): boolean {
  return (
    a.size === b.size &&
    a.mtimeMs === b.mtimeMs &&
    a.ctimeMs === b.ctimeMs &&
    a.ino === b.ino &&
    a.dev === b.dev
  );
}
