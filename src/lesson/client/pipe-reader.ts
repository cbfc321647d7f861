import { type OnReadOpts, Socket, type SocketConstructorOpts } from "node:net";

/**
 * A pipe (standard input, a FIFO, `<(...)`) read by the event loop, straight into the caller's
 * buffers. A pipe gives at most 64 KiB per read(2), whatever was asked: `fs.read` made each of
 * those a round trip through libuv's thread pool (a futex wake each way), which cost the client
 * more CPU than the rest of its upload once the servers parsed fast (issue 21: 1 GB through stdin
 * at 1.40x the file's time). Here libuv reads the pipe when epoll says it is readable, with a
 * socket's `onread` buffer: each read goes into the rest of the buffer the caller is filling, so
 * the next `read(buffer, offset + n, ...)` (what `filled` asks) usually finds its bytes there
 * already. Only the first read after a buffer is full lands in a small spare buffer and is copied
 * (at most 64 KiB per buffer filled).
 *
 * Errors become `failed(error)` (a ClientError naming the input); the end of the pipe is 0. It
 * returns table-input's ReadInto, spelled out (table-input imports this module).
 */
export function pipeReader(
  fd: number,
  failed: (error: unknown) => Error,
): (buffer: Buffer, offset: number, length: number) => Promise<number> {
  const spare = Buffer.allocUnsafe(64 << 10);
  // The region being filled: the caller's buffer from `start`, of which `got` bytes are read
  // and not returned yet; undefined once it is full or before the first read.
  let region: { buffer: Buffer; start: number; end: number; got: number } | undefined;
  // Bytes read into the spare buffer that no region had room for (copied out of it).
  let spilled: Buffer | undefined;
  let lent: Buffer = spare;
  let ended = false;
  let failure: Error | undefined;
  let waiter: { length: number; resolve: (n: number) => void; reject: (error: Error) => void } | undefined;

  const room = () => (region ? region.end - region.start - region.got : 0);
  // The buffer libuv reads into next: the region's rest, else the spare one.
  const next = (): Buffer => {
    lent = region && room() > 0 ? region.buffer.subarray(region.start + region.got, region.end) : spare;
    return lent;
  };
  // The waiter is answered with what the region holds (or the end, or the error).
  const answer = () => {
    if (!waiter) return;
    const { length, resolve, reject } = waiter;
    // Answered once its length is read (or the pipe ended or failed), not at each 64 KiB: every
    // caller fills its buffer anyway (filled), and a promise and a call per 64 KiB cost the client
    // about 0.07 s of CPU per 400 MB.
    if (region && region.got > 0 && (region.got >= length || ended || failure)) {
      const n = Math.min(region.got, length);
      region.start += n;
      region.got -= n;
      if (region.start === region.end) region = undefined;
      waiter = undefined;
      socket.unref();
      resolve(n);
    } else if (failure) {
      waiter = undefined;
      reject(failure);
    } else if (ended) {
      waiter = undefined;
      resolve(0);
    }
  };
  // `pauseOnCreate` (net.Server's pauseOnConnect for a socket made from an fd) is not in the types.
  const options: SocketConstructorOpts & { pauseOnCreate: boolean; onread: OnReadOpts } = {
    fd,
    readable: true,
    writable: false,
    // Not read before the first call (the socket would read into the spare buffer).
    pauseOnCreate: true,
    onread: {
      buffer: next,
      callback: (n: number) => {
        const into = lent;
        if (
          region &&
          into.buffer === region.buffer.buffer &&
          into.byteOffset === region.buffer.byteOffset + region.start + region.got
        )
          region.got += n;
        else {
          // The spare buffer (or a region given up since): copied where the caller wants it.
          const copied = region
            ? into.copy(region.buffer, region.start + region.got, 0, Math.min(n, room()))
            : 0;
          if (region) region.got += copied;
          if (copied < n) spilled = Buffer.from(into.subarray(copied, n));
        }
        answer();
        // Paused while bytes wait in `spilled` (the spare buffer is read into next) or the region
        // is full: reading resumes at the next call, into its buffer.
        return spilled === undefined && room() > 0;
      },
    },
  };
  const socket = new Socket(options);
  socket.on("end", () => {
    ended = true;
    answer();
  });
  socket.on("error", (error) => {
    failure = failed(error);
    answer();
  });
  // Reading starts with the first call: the socket does not keep the process alive meanwhile.
  socket.unref();

  return (buffer, offset, length) => {
    if (length <= 0) return Promise.resolve(0);
    if (region && (region.buffer !== buffer || region.start !== offset)) {
      // Another region than the one being filled: its bytes are moved there (filled never does this).
      const bytes = region.got;
      if (bytes > 0) region.buffer.copy(buffer, offset, region.start, region.start + bytes);
      region = { buffer, start: offset, end: offset + length, got: bytes };
    }
    region ??= { buffer, start: offset, end: offset + length, got: 0 };
    region.end = region.start + Math.max(length, region.got);
    if (spilled) {
      const copied = spilled.copy(buffer, region.start + region.got, 0, Math.min(spilled.length, room()));
      region.got += copied;
      spilled = copied < spilled.length ? spilled.subarray(copied) : undefined;
    }
    return new Promise<number>((resolve, reject) => {
      waiter = { length, resolve, reject };
      answer();
      if (!waiter) return;
      socket.ref();
      // Reading stopped (the callback said false, or not started yet): started again.
      socket._read(0);
    });
  };
}
