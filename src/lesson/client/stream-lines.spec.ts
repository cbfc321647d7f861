import { describe, expect, it } from "vitest";
import type { Outcome } from "../../pool/outcome.js";
import { ClientError } from "../../rpc/client-error.js";
import { Status } from "../../rpc/grpc-status.js";
import { StreamLines } from "./stream-lines.js";
import type { TableTask } from "./table-tasks.js";

/** A stream's part from `start`, as table-job.ts makes them (firstLine 1 only at the start). */
const part = (start: number, fileIndex = 0): TableTask => ({
  file: "-",
  fileIndex,
  part: { start, end: start + 10, firstLine: start === 0 ? 1 : 0, columns: 2 },
  rowsBefore: 0,
  bytes: 10,
});
const answered = (index: number, lines: number | undefined): Outcome<{ lines?: number }> => ({
  ok: true,
  index,
  value: { lines },
  server: "s",
  attempts: ["s"],
});
const refused = (index: number, line: number): Outcome<{ lines?: number }> => ({
  ok: false,
  index,
  attempts: ["s"],
  error: new ClientError(Status.INVALID_ARGUMENT, `-: line ${line}, column 2: "x" is not a number`, {
    errorDetails: {
      errorInfo: { reason: "MALFORMED_TABLE", domain: "rpcpool", metadata: { line: String(line) } },
    },
  }),
});
const message = (outcome: Outcome<unknown> | undefined) =>
  outcome && !outcome.ok ? outcome.error.details : "ok";

describe("StreamLines", () => {
  it("places each refusal after the lines the servers read, and those counted of parts no server answered", () => {
    const lines = new StreamLines();
    const tasks = [part(0), part(10), part(20), part(30), part(0, 1), part(10, 1)];
    const outcomes = [
      answered(0, 10),
      refused(1, 3),
      answered(2, 4),
      refused(3, 2),
      answered(4, 5),
      refused(5, 1),
    ];
    // The refused second part's bytes: 7 newlines, counted before they go back.
    lines.unanswered(1, [Buffer.from("a\nb\nc\n"), Buffer.from("\n\n\nd\n")]);
    lines.place(tasks, outcomes, new Set([0, 1]));
    expect(outcomes.map(message)).toEqual([
      "ok",
      '-: line 13, column 2: "x" is not a number',
      "ok",
      '-: line 23, column 2: "x" is not a number',
      "ok",
      '-: line 6, column 2: "x" is not a number',
    ]);
    const third = outcomes[3]!;
    expect(third.ok ? undefined : third.error.errorDetails.errorInfo?.metadata.line).toBe("23");
  });

  it("leaves a refusal's line as the part's once a part before it has no count, and files alone", () => {
    const lines = new StreamLines();
    const tasks = [part(0), part(10), part(20), part(0, 1), part(10, 1)];
    const outcomes = [answered(0, 10), answered(1, undefined), refused(2, 2), answered(3, 4), refused(4, 1)];
    lines.place(tasks, outcomes, new Set([0]));
    expect(outcomes.map(message)).toEqual([
      "ok",
      "ok",
      '-: line 2, column 2: "x" is not a number',
      "ok",
      '-: line 1, column 2: "x" is not a number',
    ]);
  });
});
