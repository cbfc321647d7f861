/** Writes one JSON document on stdout and waits until it is flushed (the process may exit next). */
export function writeJson(value: unknown): Promise<void> {
  return new Promise((resolve) => process.stdout.write(`${JSON.stringify(value)}\n`, () => resolve()));
}

export function writeText(text: string): Promise<void> {
  return new Promise((resolve) =>
    process.stdout.write(text.endsWith("\n") ? text : `${text}\n`, () => resolve()),
  );
}
