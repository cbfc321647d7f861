import type { Context, Span } from "@opentelemetry/api";
import { endSpan, startInternalSpan, tracingOn, withContext } from "../../tracing/spans.js";
import type { TableTask } from "./table-tasks.js";

/**
 * The spans of a table job (docs/observability.md, Traces): one per file, child of the span active
 * where the job runs (the CLI's command), and one per part of a split file, child of its file's;
 * each attempt's call is a child of its task's span. A task's span starts at its first attempt
 * and ends when an attempt succeeds, or with the job (a failed attempt may be followed by another
 * on another server). A file's span ends with its last part.
 */
export class TableSpans {
  readonly #files = new Map<number, { span: Span; context: Context; open: number }>();
  readonly #tasks = new Map<TableTask, { span: Span; context: Context }>();

  constructor(private readonly tasks: readonly TableTask[]) {}

  /** Runs one attempt of `task` inside its span (as it is, without tracing). */
  attempt<T>(task: TableTask, run: () => Promise<T>): Promise<T> {
    if (!tracingOn()) return run();
    const traced = this.#taskSpan(task);
    return withContext(traced.context, run).then(
      (result) => {
        this.#end(task);
        return result;
      },
      (error: unknown) => {
        traced.span.addEvent("attempt failed", { "exception.message": (error as Error)?.message ?? "" });
        throw error;
      },
    );
  }

  /** Ends the spans still open (tasks whose last attempt failed), failed. */
  finish(): void {
    for (const task of [...this.#tasks.keys()]) this.#end(task, new Error("the task failed"));
  }

  #taskSpan(task: TableTask): { span: Span; context: Context } {
    const open = this.#tasks.get(task);
    if (open) return open;
    const attributes = { "rpcpool.file": task.file, "rpcpool.bytes": task.bytes };
    const siblings = this.tasks.filter((t) => t.fileIndex === task.fileIndex);
    let traced: { span: Span; context: Context };
    if (siblings.length < 2) {
      traced = startInternalSpan(`file ${task.file}`, attributes);
    } else {
      let file = this.#files.get(task.fileIndex);
      if (!file) {
        file = {
          ...startInternalSpan(`file ${task.file}`, { "rpcpool.file": task.file }),
          open: siblings.length,
        };
        this.#files.set(task.fileIndex, file);
      }
      const number = siblings.indexOf(task) + 1;
      traced = withContext(file.context, () =>
        startInternalSpan(`part ${number}/${siblings.length} of ${task.file}`, {
          ...attributes,
          "rpcpool.part": number,
        }),
      );
    }
    this.#tasks.set(task, traced);
    return traced;
  }

  #end(task: TableTask, error?: unknown): void {
    const traced = this.#tasks.get(task);
    if (!traced) return;
    this.#tasks.delete(task);
    endSpan(traced.span, error);
    const file = this.#files.get(task.fileIndex);
    if (file && --file.open === 0) {
      this.#files.delete(task.fileIndex);
      endSpan(file.span);
    }
  }
}
