// Prototype: a table upload over node:http2 directly, gRPC framing by hand, no copy in userland:
// each read chunk goes out as [5-byte gRPC prefix + proto tag/len] then the chunk itself.
// node raw-http2.mjs HOST:PORT FILE...   (CHUNK env: read size)
import { open } from "node:fs/promises";
import http2 from "node:http2";

const [address, ...files] = process.argv.slice(2);
const chunkBytes = Number(process.env.CHUNK ?? 1 << 20);
// REUSE=1: read into buffers whose previous chunk has been written (no fresh pages per chunk).
const reuse = process.env.REUSE === "1";
const free = [];
const session = http2.connect(`http://${address}`);
session.on("error", (e) => {
  console.error(e);
  process.exit(1);
});
function prefix(messageLength, protoHead) {
  const head = Buffer.allocUnsafe(5 + protoHead.length);
  head[0] = 0;
  head.writeUInt32BE(messageLength, 1);
  head.set(protoHead, 5);
  return head;
}
function protoHeadFor(length) {
  const h = [0x12];
  let v = length;
  while (v >= 0x80) {
    h.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  h.push(v);
  return Buffer.from(h);
}
for (const file of files) {
  const stream = session.request({
    ":method": "POST",
    ":path": "/rpcpool.compute.v1.ComputeService/ColumnSums",
    "content-type": "application/grpc",
    te: "trailers",
  });
  const reply = [];
  stream.on("data", (d) => reply.push(d));
  const done = new Promise((resolve, reject) => {
    stream.on("trailers", (t) => resolve(t));
    stream.on("error", reject);
  });
  const name = Buffer.from("bench.csv");
  const options = Buffer.concat([Buffer.from([0x0a, name.length + 2, 0x0a, name.length]), name]);
  stream.write(Buffer.concat([prefix(options.length, Buffer.alloc(0)), options]));
  const handle = await open(file);
  for (;;) {
    const buffer = free.pop() ?? Buffer.allocUnsafeSlow(chunkBytes);
    const { bytesRead } = await handle.read(buffer, 0, chunkBytes, null);
    if (bytesRead === 0) break;
    const chunk = buffer.subarray(0, bytesRead);
    const head = protoHeadFor(bytesRead);
    stream.write(prefix(head.length + bytesRead, head));
    const ok = stream.write(chunk, () => {
      if (reuse) free.push(buffer);
    });
    if (!ok) await new Promise((r) => stream.once("drain", r));
  }
  await handle.close();
  stream.end();
  const trailers = await done;
  if (trailers["grpc-status"] !== "0")
    throw new Error(`status ${trailers["grpc-status"]}: ${trailers["grpc-message"]}`);
  process.stderr.write(`reply ${Buffer.concat(reply).length} bytes\n`);
}
session.close();
process.exit(0);
