// The floor of a tiny call: a Node program that does nothing but connect to one rpcpool server over
// node:http2, send Circles (radii 1,2) as hand-encoded protobuf, write the reply's length, and
// exit. No argument parsing, no pool, no Info, no generated code. Compare it with `node -e 0` and
// `rpcpool circles --radii 1,2 --servers HOST:PORT` in interleaved rounds (docs/performance.md,
// "A tiny call"). Usage: node bench/prototypes/bare-tiny-call.mjs HOST:PORT
import { connect } from "node:http2";

const request = Buffer.alloc(5 + 2 + 16);
request[0] = 0; // not compressed
request.writeUInt32BE(18, 1); // message length
request[5] = 0x0a; // field 1 (radii), packed
request[6] = 16;
request.writeDoubleLE(1, 7);
request.writeDoubleLE(2, 15);

const session = connect(`http://${process.argv[2]}`);
const stream = session.request({
  ":method": "POST",
  ":path": "/rpcpool.compute.v1.ComputeService/Circles",
  "content-type": "application/grpc",
  te: "trailers",
});
const chunks = [];
stream.on("data", (chunk) => chunks.push(chunk));
stream.on("trailers", (trailers) => {
  process.stdout.write(`${Buffer.concat(chunks).length} bytes, grpc-status ${trailers["grpc-status"]}\n`);
  session.destroy();
});
stream.end(request);
