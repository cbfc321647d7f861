/** Lays rows out in aligned columns: numbers to the right, words to the left. */
export function textTable(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((row) => (row[c] ?? "").length)));
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((row) => typeof row[c] === "number"));
  return cells
    .map((row) =>
      row
        .map((cell, c) => (numeric[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** A list of numbers wrapped to lines of `perLine`, each line labelled with its first index. */
export function numberBlock(values: number[], perLine = 10, indent = "  "): string {
  const lines: string[] = [];
  const width = Math.max(...values.map((v) => String(v).length), 1);
  for (let i = 0; i < values.length; i += perLine) {
    const label = `${i + 1}-${Math.min(i + perLine, values.length)}`.padStart(7);
    lines.push(
      `${indent}${label}: ${values
        .slice(i, i + perLine)
        .map((v) => String(v).padStart(width))
        .join(" ")}`,
    );
  }
  return lines.join("\n");
}
