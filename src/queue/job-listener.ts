import type { Redis } from "ioredis";
import type { Listening } from "./job-handle.js";

/**
 * A client's subscriptions to its jobs' settled tasks (`result --wait`): one connection in
 * subscriber mode, opened on first use and shared by every wait of the client; a channel is
 * subscribed while someone listens to it. Each message wakes that channel's listeners, which then
 * look at Redis themselves (a message carries no outcome).
 */
export class SettledListener {
  readonly #channels = new Map<string, { waiters: Set<Listening>; subscribed: Promise<void> }>();
  #listener?: Redis;

  constructor(private readonly redis: Redis) {}

  /** Listens to `channel`; its `ready` settles once Redis has confirmed the subscription. */
  listen(channel: string): Listening {
    if (!this.#listener) {
      const listener = this.redis.duplicate();
      listener.on("error", () => {});
      listener.on("message", (from: string) => {
        for (const listening of this.#channels.get(from)?.waiters ?? []) listening.wake();
      });
      this.#listener = listener;
    }
    const listener = this.#listener;
    let entry = this.#channels.get(channel);
    if (!entry) {
      entry = { waiters: new Set(), subscribed: listener.subscribe(channel).then(() => {}) };
      this.#channels.set(channel, entry);
    }
    const listening: Listening = {
      ready: entry.subscribed,
      wake: () => {},
      release: () => {
        listening.released = true;
        const current = this.#channels.get(channel);
        if (!current?.waiters.delete(listening) || current.waiters.size > 0) return;
        this.#channels.delete(channel);
        // Not waited for: an answer need not wait for the unsubscription.
        listener.unsubscribe(channel).catch(() => {});
      },
    };
    entry.waiters.add(listening);
    return listening;
  }

  close(): void {
    this.#listener?.disconnect();
  }
}
