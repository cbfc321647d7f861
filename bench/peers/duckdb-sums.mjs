// The DuckDB peer of `rpcpool column-sums` (issue 21): an in-memory DuckDB on 2 threads runs
// `SELECT sum(c1), ..., sum(cN) FROM read_csv(FILE, ...)` for each file, one after another, as a
// user of large CSV files would with `@duckdb/node-api`. Prints one JSON line: the sums and where
// the time went (as bench/python/pandas_sums.py does), or {"skipped": why} and exit 3 when DuckDB
// is not installed (the bench installs it with `npm ci --prefix bench/peers`).
//
//     node bench/peers/duckdb-sums.mjs --type BIGINT|DOUBLE [--sniff] FILE...
//
// The tables are the lesson's: `;`-delimited, no header. Their column types are given, not
// sniffed: every column is a number of the one --type, so DuckDB's sniffer can neither guess a
// float column as integers from its sample nor spend time on it (a user who knows the table
// would say so too; it was the faster of the two here). `--sniff` leaves the types to DuckDB's
// sniffer, as `read_csv(FILE)` alone does, for a comparison by hand. BIGINT sums come back as
// HUGEINT (bigint here), exact as integers.
import { closeSync, openSync, readSync } from "node:fs";

const started = performance.now();
const args = process.argv.slice(2);
const typeAt = args.indexOf("--type");
const type = typeAt >= 0 ? args.splice(typeAt, 2)[1] : "DOUBLE";
const sniffAt = args.indexOf("--sniff");
const sniff = sniffAt >= 0 && args.splice(sniffAt, 1).length > 0;
if (type !== "BIGINT" && type !== "DOUBLE") {
  process.stderr.write(`--type must be BIGINT or DOUBLE, not ${type}\n`);
  process.exit(2);
}
const files = args;

let duckdb;
try {
  duckdb = await import("@duckdb/node-api");
} catch (error) {
  process.stdout.write(
    `${JSON.stringify({ skipped: `@duckdb/node-api is not installed in bench/peers: ${error.message}` })}\n`,
  );
  process.exit(3);
}
const imported = performance.now();

/** Cells in the first line of a file: the width of a table whose rows all have one width. */
function widthOf(path) {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(64 * 1024);
    const length = readSync(fd, head, 0, head.length, 0);
    const line = head.subarray(0, length).toString("latin1").split("\n")[0];
    return line.split(";").length;
  } finally {
    closeSync(fd);
  }
}

const quote = (text) => `'${text.replaceAll("'", "''")}'`;

const instance = await duckdb.DuckDBInstance.create(":memory:");
const connection = await duckdb.DuckDBConnection.create(instance);
await connection.run("SET threads = 2");
const opened = performance.now();

const sums = [];
for (const path of files) {
  const width = widthOf(path);
  const names = Array.from({ length: width }, (_, i) => `c${i + 1}`);
  const columns = `{${names.map((name) => `${quote(name)}: ${quote(type)}`).join(", ")}}`;
  const reader = await connection.runAndReadAll(
    sniff
      ? `SELECT sum(COLUMNS(*)) FROM read_csv(${quote(path)}, delim = ';', header = false)`
      : `SELECT ${names.map((name) => `sum(${name})`).join(", ")} ` +
          `FROM read_csv(${quote(path)}, delim = ';', header = false, columns = ${columns})`,
  );
  sums.push(reader.getRows()[0].map(Number));
}
const done = performance.now();
connection.closeSync();
instance.closeSync();

process.stdout.write(
  `${JSON.stringify({
    importSeconds: (imported - started) / 1000,
    openSeconds: (opened - imported) / 1000,
    computeSeconds: (done - opened) / 1000,
    duckdb: duckdb.version(),
    types: sniff ? "sniffed" : type,
    // Doubles round-trip through JSON exactly; the integer tables' sums are far below 2^53.
    sums,
  })}\n`,
);
