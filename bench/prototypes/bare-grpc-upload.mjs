// A bare grpc-js client stream of a file's bytes to rpcpool's ColumnSums: the floor for the client.
// node bare-stream.mjs HOST:PORT FILE
import { createReadStream } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(`${process.cwd()}/package.json`);
const { credentials, makeGenericClientConstructor, Metadata } = require("@grpc/grpc-js");
const [address, ...files] = process.argv.slice(2);
const id = (b) => b;
const Client = makeGenericClientConstructor(
  {
    columnSums: {
      path: "/rpcpool.compute.v1.ComputeService/ColumnSums",
      requestStream: true,
      responseStream: false,
      requestSerialize: id,
      requestDeserialize: id,
      responseSerialize: id,
      responseDeserialize: id,
    },
  },
  "Compute",
);
const client = new Client(address, credentials.createInsecure(), {
  "grpc.max_receive_message_length": 64 << 20,
});
const name = Buffer.from("bench.csv");
const optionsMsg = Buffer.concat([Buffer.from([0x0a, name.length + 2, 0x0a, name.length]), name]);
for (const file of files) {
  const reply = await new Promise((resolve, reject) => {
    const call = client.columnSums(new Metadata(), {}, (e, r) => (e ? reject(e) : resolve(r)));
    call.write(optionsMsg);
    const input = createReadStream(file, { highWaterMark: Number(process.env.CHUNK ?? 262144) });
    input.on("data", (chunk) => {
      const head = [0x12];
      let v = chunk.length;
      while (v >= 0x80) {
        head.push((v & 0x7f) | 0x80);
        v = Math.floor(v / 128);
      }
      head.push(v);
      const out = Buffer.allocUnsafe(head.length + chunk.length);
      out.set(head, 0);
      out.set(chunk, head.length);
      if (!call.write(out)) {
        input.pause();
        call.once("drain", () => input.resume());
      }
    });
    input.on("end", () => call.end());
  });
  process.stderr.write(`reply ${reply.length} bytes\n`);
}
process.exit(0);
