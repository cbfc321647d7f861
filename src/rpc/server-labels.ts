/**
 * Server labels (`rpcpool-server --label gpu=1`) and the requirements calls make of them
 * (docs/scheduling.md). One grammar for both sides: the server checks what it is given, the
 * client what it asks for, so a typo is refused where it is typed, not silently never matched.
 */

/** KEY=VALUE pairs a server says it has, or a call requires or prefers. */
export type Labels = Readonly<Record<string, string>>;

/** Letters, digits and `_ . - /`: room for `zone`, `gpu.count`, `example.com/pool`. */
export const labelKeyPattern = /^[A-Za-z0-9_.\-/]+$/;

/** Why `key` is not a label key, or undefined when it is one. */
export function badLabelKey(key: string): string | undefined {
  return labelKeyPattern.test(key)
    ? undefined
    : `label key ${JSON.stringify(key)} must be letters, digits and _ . - / only`;
}

/** "KEY=VALUE" as a pair (the value may be empty, and may hold "="); a TypeError says what is wrong. */
export function parseLabel(text: string): [string, string] {
  const eq = text.indexOf("=");
  if (eq < 0) throw new TypeError(`${JSON.stringify(text)} is not KEY=VALUE`);
  const key = text.slice(0, eq);
  const bad = badLabelKey(key);
  if (bad) throw new TypeError(bad);
  return [key, text.slice(eq + 1)];
}

/** Labels checked key by key; a TypeError names the first bad key or value. */
export function checkLabels(labels: Labels): Labels {
  for (const [key, value] of Object.entries(labels)) {
    const bad = badLabelKey(key);
    if (bad) throw new TypeError(bad);
    if (typeof value !== "string") throw new TypeError(`label ${key}: its value must be a string`);
  }
  return labels;
}

/** The labels' `KEY=VALUE` pairs, in their order: what --label and --require take. */
export const labelsAsPairs = (labels: Labels | undefined): string[] =>
  Object.entries(labels ?? {}).map(([k, v]) => `${k}=${v}`);

/** `{zone=a,gpu=1}`: labels as the errors show them. */
export function formatLabels(labels: Labels | undefined): string {
  return `{${labelsAsPairs(labels).join(",")}}`;
}
