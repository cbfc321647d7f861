import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { ClientError } from "./client-error.js";
import { ServerError } from "./server-error.js";
import { type CallFrames, type ReplyStatus, type Served, SessionPeer } from "./session-peer.js";
import { encodeStatus } from "./status-details.js";

const statusOf = (error: unknown): ReplyStatus =>
  error instanceof ServerError
    ? {
        code: error.code,
        message: error.message,
        statusDetails: encodeStatus(error.code, error.message, error.errorDetails),
      }
    : { code: status.CANCELLED, message: "cancelled", statusDetails: Buffer.alloc(0) };

/** Two ends wired back to back: what one sends, the other receives (calls served by `work`). */
function pair(work: (request: Buffer, served: Served) => Promise<Buffer>) {
  const frames: CallFrames[] = [];
  let b!: SessionPeer<CallFrames>;
  const a = new SessionPeer<CallFrames>({
    send: (frame) => {
      frames.push(frame);
      queueMicrotask(() => {
        if (!b.receive(frame) && frame.call)
          b.serve(frame.call.id, frame.call.timeoutMs, (s) => work(frame.call!.request, s));
      });
    },
    remote: "b",
    statusOf,
  });
  b = new SessionPeer<CallFrames>({
    send: (frame) => queueMicrotask(() => a.receive(frame)),
    remote: "a",
    statusOf,
  });
  return { a, b, frames };
}

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: ClientError) => error,
  );

describe("one end of a session", () => {
  it("calls the other end and gets its reply", async () => {
    const { a } = pair(async (request) => Buffer.from(`${request}!`));
    expect(String(await a.call("/x.Y/Z", 1, Buffer.from("hi")))).toBe("hi!");
    expect(a.awaiting).toBe(0);
  });

  it("gets the other end's failure with its code, message and details", async () => {
    const { a } = pair(async () => {
      throw new ServerError(status.NOT_FOUND, "none", {
        errorInfo: { reason: "R", domain: "d", metadata: {} },
      });
    });
    const error = await rejection(a.call("/x.Y/Z", 0, Buffer.alloc(0)));
    expect(error).toMatchObject({ code: status.NOT_FOUND, details: "none", server: "b" });
    expect(error!.errorDetails.errorInfo?.reason).toBe("R");
  });

  it("gives up at its deadline, and the other end's work sees its signal abort", async () => {
    let aborted: unknown;
    const { a, b, frames } = pair(
      (_request, { signal }) =>
        new Promise((_resolve, reject) =>
          signal.addEventListener("abort", () => {
            aborted = signal.reason;
            reject(signal.reason);
          }),
        ),
    );
    const error = await rejection(a.call("/x.Y/Z", 0, Buffer.alloc(0), { timeoutMs: 20 }));
    expect(error!.code).toBe(status.DEADLINE_EXCEEDED);
    expect(frames[0]!.call!.timeoutMs).toBe(20);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect((aborted as Error).name).toBe("AbortError");
    expect(b.serving).toBe(0);
  });

  it("cancels with its signal; a reply that comes later is dropped", async () => {
    let answer!: (bytes: Buffer) => void;
    const { a, frames } = pair(() => new Promise((resolve) => (answer = resolve)));
    const controller = new AbortController();
    const call = a.call("/x.Y/Z", 0, Buffer.alloc(0), { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    expect((await rejection(call))!.code).toBe(status.CANCELLED);
    expect(frames.at(-1)).toEqual({ cancel: { id: 1 } });
    answer(Buffer.from("late"));
  });

  it("ends: calls awaited reject with the reason, calls served see their signals abort", async () => {
    let served: AbortSignal | undefined;
    const { a, b } = pair((_request, { signal }) => {
      served = signal;
      return new Promise(() => {});
    });
    const call = a.call("/x.Y/Z", 0, Buffer.alloc(0));
    await new Promise((resolve) => setTimeout(resolve, 5));
    const reason = new ClientError(status.UNAVAILABLE, "gone");
    a.end(reason);
    b.end(reason);
    expect(await rejection(call)).toBe(reason);
    expect(served?.aborted).toBe(true);
    expect(await rejection(a.call("/x.Y/Z", 0, Buffer.alloc(0)))).toBe(reason);
  });

  it("refuses a call id already in flight", async () => {
    const replies: CallFrames[] = [];
    const peer = new SessionPeer<CallFrames>({ send: (frame) => replies.push(frame), remote: "r", statusOf });
    peer.serve(7, 0, () => new Promise(() => {}));
    peer.serve(7, 0, async () => Buffer.alloc(0));
    expect(replies).toEqual([
      {
        reply: expect.objectContaining({
          id: 7,
          code: status.INVALID_ARGUMENT,
          message: "call id 7 is already in flight in this session",
        }),
      },
    ]);
  });
});
