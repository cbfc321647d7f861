/** One measured figure, against its target when it has one. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** "min": at least the target is good; "max": at most. */
  target?: { value: number; kind: "min" | "max" };
  note?: string;
}

export function met(figure: Figure): boolean | undefined {
  if (!figure.target) return undefined;
  return figure.target.kind === "min"
    ? figure.value >= figure.target.value
    : figure.value <= figure.target.value;
}

export function describeFigure(figure: Figure): string {
  const verdict = met(figure);
  const target = figure.target
    ? ` (target ${figure.target.kind === "min" ? ">=" : "<="} ${figure.target.value} ${figure.unit}: ${verdict ? "met" : "MISSED"})`
    : "";
  return `${figure.name}: ${round(figure.value)} ${figure.unit}${target}${figure.note ? ` -- ${figure.note}` : ""}`;
}

export const round = (v: number) => (Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * 1000) / 1000);

/** Percentile of sorted samples (nearest rank). */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
