import { realpath, stat } from "node:fs/promises";
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

  #inside(path: string): boolean {
    const rel = relative(this.real, path);
    return rel === "" ? false : !rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel);
  }
}
