// Reading and writing the env files of a Podplane VM without evaluating them. Podplane writes
// `NAME='...'` with `'\''` for a quote, and single-quoted values may span lines (a PEM CA, several
// SSH keys); vmconfig's /opt/env files use systemd's `NAME="..."` (\\ \" \$ \` escapes, may span
// lines too). Bare words are read as they are. Anything else (a space, `$`, a backquote, an
// unterminated quote) makes the assignment invalid, so a broken file fails a check instead of
// being half read.

export interface ParsedEnvFile {
  values: Map<string, string>;
  /** Names in file order. */
  names: string[];
  /** The raw text of each assignment that could not be read. */
  invalid: string[];
}

const NAME = /^([A-Za-z_][A-Za-z0-9_]*)=/;
const BARE = /^[A-Za-z0-9_./:@,+=%{}-]+/;

/** Reads one value starting at `text[at]`; returns it and where it ended, or undefined. */
function readValue(text: string, at: number): { value: string; end: number } | undefined {
  let out = "";
  let i = at;
  while (i < text.length && text[i] !== "\n") {
    const c = text[i];
    if (c === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) return undefined;
      out += text.slice(i + 1, close);
      i = close + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= text.length) return undefined;
        const d = text[i];
        if (d === '"') break;
        if (d === "\\" && i + 1 < text.length) {
          const next = text[i + 1] ?? "";
          // A backslash-newline is a line continuation; other escapes give the character.
          if (next !== "\n") out += next;
          i += 2;
          continue;
        }
        out += d;
        i++;
      }
      i++;
    } else if (c === "\\") {
      if (i + 1 >= text.length || text[i + 1] === "\n") return undefined;
      out += text[i + 1];
      i += 2;
    } else {
      const bare = BARE.exec(text.slice(i));
      if (!bare) return undefined;
      out += bare[0];
      i += bare[0].length;
    }
  }
  return { value: out, end: i };
}

export function parseEnvFile(text: string): ParsedEnvFile {
  const values = new Map<string, string>();
  const names: string[] = [];
  const invalid: string[] = [];
  let i = 0;
  while (i < text.length) {
    const lineEnd = text.indexOf("\n", i) < 0 ? text.length : text.indexOf("\n", i);
    const line = text.slice(i, lineEnd);
    if (line.trim() === "" || line.trimStart().startsWith("#")) {
      i = lineEnd + 1;
      continue;
    }
    const match = NAME.exec(line);
    const read = match ? readValue(text, i + match[0].length) : undefined;
    if (!match || !read) {
      invalid.push(line);
      i = lineEnd + 1;
      continue;
    }
    const name = match[1] ?? "";
    if (!values.has(name)) names.push(name);
    values.set(name, read.value);
    i = read.end + 1;
  }
  return { values, names, invalid };
}

/** Podplane's quoteEnv: the value in single quotes, a quote inside as `'\''`. */
export function quoteEnv(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `NAME='value'` lines, in the given order. */
export function formatEnvFile(env: ReadonlyArray<readonly [string, string]>): string {
  return env.map(([name, value]) => `${name}=${quoteEnv(value)}\n`).join("");
}
