import { constants } from "node:fs";
import { type FileHandle, open, readlink, realpath, stat } from "node:fs/promises";
import { isAbsolute, join, normalize, relative, sep } from "node:path";
import { status } from "@grpc/grpc-js";
import { ServerError } from "../../rpc/server-error.js";

/**
 * The folder a server serves files from (--data-root): clients name files relative to it, and
 * nothing outside it can be reached, by `..`, an absolute path or a symlink pointing out.
 */
export class DataRoot {
  private constructor(readonly real: string) {}

  static async open(dir: string): Promise<DataRoot> {
    const real = await realpath(dir);
    if (!(await stat(real)).isDirectory()) throw new Error(`--data-root ${dir} is not a directory`);
    return new DataRoot(real);
  }

  /** The real path of a client's relative path, or a ServerError saying why it is refused. */
  async resolve(path: string): Promise<string> {
    if (path === "" || path.includes("\0")) {
      throw new ServerError(
        status.INVALID_ARGUMENT,
        "a remote path must be a non-empty path without NUL bytes",
      );
    }
    if (isAbsolute(path) || path.startsWith("\\")) {
      throw new ServerError(
        status.PERMISSION_DENIED,
        `${path}: absolute paths are refused; name files relative to the data root`,
      );
    }
    const joined = join(this.real, normalize(path));
    if (!this.#inside(joined))
      throw new ServerError(status.PERMISSION_DENIED, `${path}: the path leaves the data root`);
    let real: string;
    try {
      real = await realpath(joined);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        throw new ServerError(status.NOT_FOUND, `${path}: no such file under the data root`);
      }
      throw new ServerError(
        status.PERMISSION_DENIED,
        `${path}: cannot be read (${(error as NodeJS.ErrnoException).code})`,
      );
    }
    // A symlink may point anywhere: what counts is where it really leads.
    if (!this.#inside(real))
      throw new ServerError(status.PERMISSION_DENIED, `${path}: a link leads out of the data root`);
    if (!(await stat(real)).isFile())
      throw new ServerError(status.FAILED_PRECONDITION, `${path}: not a regular file`);
    return real;
  }

  /**
   * Opens a client's relative path for reading, at once and once: the last component is opened
   * without following a link (O_NOFOLLOW) and without blocking (O_NONBLOCK: a FIFO never waits
   * for a writer), then the opened descriptor is checked (a regular file, really inside the
   * root), so a path swapped for a link or a FIFO after the check reaches nothing. The caller
   * reads only from the handle, and closes it; on a refusal it is closed here.
   */
  async open(path: string): Promise<FileHandle> {
    const real = await this.resolve(path);
    let handle: FileHandle;
    try {
      handle = await open(
        real,
        constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0),
      );
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT")
        throw new ServerError(status.NOT_FOUND, `${path}: no such file under the data root`);
      // ELOOP: the file became a link since it was resolved.
      throw new ServerError(status.PERMISSION_DENIED, `${path}: cannot be opened (${code})`);
    }
    try {
      const opened = await handle.stat();
      if (!opened.isFile()) throw new ServerError(status.FAILED_PRECONDITION, `${path}: not a regular file`);
      if (!this.#inside(await openedPath(handle, real, opened)))
        throw new ServerError(status.PERMISSION_DENIED, `${path}: the file opened is outside the data root`);
      return handle;
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  #inside(path: string): boolean {
    const rel = relative(this.real, path);
    return rel === "" ? false : !rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel);
  }
}

/**
 * Where an open file really is: Linux names it in /proc/self/fd; elsewhere the resolved path
 * counts only if it still leads to the very file opened (same device and inode).
 */
async function openedPath(
  handle: FileHandle,
  resolved: string,
  opened: { dev: number; ino: number },
): Promise<string> {
  try {
    return await readlink(`/proc/self/fd/${handle.fd}`);
  } catch {
    const now = await stat(resolved).catch(() => undefined);
    if (now && now.dev === opened.dev && now.ino === opened.ino) return realpath(resolved);
    return "";
  }
}
