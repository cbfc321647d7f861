/**
 * Where a JSON text first goes wrong, as an offset (0-based), or undefined when it parses.
 *
 * `map` and `call` say the column of a malformed line (docs/cli.md). V8 says "at position N" for
 * some mistakes only: Node 20's "Unexpected token 'o', "not json" is not valid JSON" (a stray word,
 * `{"a":}`, `[1,,2]`) names no position, so the text is scanned here, by RFC 8259's grammar,
 * only once JSON.parse has refused it.
 */
export function jsonErrorOffset(text: string): number | undefined {
  let at = 0;
  const space = () => {
    while (at < text.length && " \t\n\r".includes(text[at]!)) at++;
  };
  const fail = (): never => {
    throw at;
  };
  const literal = (word: string) => {
    for (const char of word) {
      if (text[at] !== char) fail();
      at++;
    }
  };
  const string = () => {
    at++; // the opening quote
    for (;;) {
      if (at >= text.length) fail();
      const char = text[at]!;
      if (char === '"') {
        at++;
        return;
      }
      if (char < " ") fail();
      if (char === "\\") {
        at++;
        if (text[at] === "u") {
          at++;
          for (let i = 0; i < 4; i++, at++) if (!/[0-9a-fA-F]/.test(text[at] ?? "")) fail();
          continue;
        }
        if (!'"\\/bfnrt'.includes(text[at] ?? "x")) fail();
      }
      at++;
    }
  };
  const number = () => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(at));
    if (!match || match[0] === "-") fail();
    at += match![0].length;
  };
  const value = () => {
    space();
    const char = text[at];
    if (char === "{" || char === "[") {
      const close = char === "{" ? "}" : "]";
      at++;
      space();
      if (text[at] === close) {
        at++;
        return;
      }
      for (;;) {
        if (close === "}") {
          space();
          if (text[at] !== '"') fail();
          string();
          space();
          if (text[at] !== ":") fail();
          at++;
        }
        value();
        space();
        if (text[at] === ",") at++;
        else if (text[at] === close) {
          at++;
          return;
        } else fail();
      }
    }
    if (char === '"') string();
    else if (char === "t") literal("true");
    else if (char === "f") literal("false");
    else if (char === "n") literal("null");
    else if (char === "-" || (char !== undefined && char >= "0" && char <= "9")) number();
    else fail();
  };
  try {
    value();
    space();
    if (at < text.length) fail();
    return undefined;
  } catch (offset) {
    if (typeof offset !== "number") throw offset;
    return Math.min(offset, text.length);
  }
}
