import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";

/**
 * A real headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe:
 * fd 3 in, fd 4 out, messages ended by NUL), so no WebSocket client is needed. One page.
 */
export class Chromium {
  readonly #child: ChildProcess;
  readonly #profile: string;
  readonly #out: Writable;
  readonly #waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  #next = 1;
  #session = "";

  private constructor(child: ChildProcess, profile: string) {
    this.#child = child;
    this.#profile = profile;
    this.#out = child.stdio[3] as Writable;
    let buffered = "";
    (child.stdio[4] as Readable).on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      for (let end = buffered.indexOf("\0"); end >= 0; end = buffered.indexOf("\0")) {
        const message = JSON.parse(buffered.slice(0, end));
        buffered = buffered.slice(end + 1);
        const waiter = message.id === undefined ? undefined : this.#waiting.get(message.id);
        if (!waiter) continue;
        this.#waiting.delete(message.id);
        if (message.error) waiter.reject(new Error(JSON.stringify(message.error)));
        else waiter.resolve(message.result);
      }
    });
  }

  /** Starts Chromium with one blank page of the given size, attached. */
  static async launch(width = 1280, height = 900): Promise<Chromium> {
    const profile = mkdtempSync(join(tmpdir(), "rpcpool-chromium-"));
    const child = spawn(
      "chromium",
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--remote-debugging-pipe",
        `--user-data-dir=${profile}`,
        `--window-size=${width},${height}`,
        "about:blank",
      ],
      // Its own process group: closing ends its renderers and helpers too, not only the browser.
      { stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"], detached: true },
    );
    const browser = new Chromium(child, profile);
    const { targetInfos } = await browser.send("Target.getTargets");
    const page = targetInfos.find((t: any) => t.type === "page");
    const { sessionId } = await browser.send("Target.attachToTarget", {
      targetId: page.targetId,
      flatten: true,
    });
    browser.#session = sessionId;
    await browser.send("Page.enable", {}, true);
    await browser.send(
      "Emulation.setDeviceMetricsOverride",
      { width, height, deviceScaleFactor: 1, mobile: false },
      true,
    );
    return browser;
  }

  send(method: string, params: object = {}, onPage = false): Promise<any> {
    const id = this.#next++;
    const message = { id, method, params, ...(onPage ? { sessionId: this.#session } : {}) };
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#out.write(`${JSON.stringify(message)}\0`);
    });
  }

  async goto(url: string): Promise<void> {
    await this.send("Page.navigate", { url }, true);
  }

  /** The value of an expression in the page (awaited when it is a promise). */
  async evaluate<T>(expression: string): Promise<T> {
    const { result, exceptionDetails } = await this.send(
      "Runtime.evaluate",
      { expression, returnByValue: true, awaitPromise: true },
      true,
    );
    if (exceptionDetails) throw new Error(JSON.stringify(exceptionDetails));
    return result.value as T;
  }

  /** A PNG of the page as it is now. */
  async screenshot(): Promise<Buffer> {
    const { data } = await this.send(
      "Page.captureScreenshot",
      { format: "png", captureBeyondViewport: true },
      true,
    );
    return Buffer.from(data, "base64");
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.#child.once("exit", resolve));
    process.kill(-this.#child.pid!, "SIGTERM");
    await exited;
    rmSync(this.#profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  }
}
