// Reading the env files vmconfig writes, without evaluating them: `NAME="..."` (with \\ \" \$ \`
// escapes), `NAME='...'` (with '\'' joins) and bare words. A line that is none of these is
// reported, so a broken file fails a check instead of being half read.

export interface ParsedEnvFile {
  values: Map<string, string>;
  /** Names in file order. */
  names: string[];
  invalid: string[];
}

const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

function unquote(raw: string): string | undefined {
  let rest = raw;
  let out = "";
  while (rest.length > 0) {
    let match: RegExpExecArray | null;
    if ((match = /^'([^']*)'/.exec(rest))) {
      out += match[1];
    } else if ((match = /^"((?:[^"\\]|\\.)*)"/.exec(rest))) {
      out += (match[1] ?? "").replace(/\\(.)/g, "$1");
    } else if ((match = /^\\(.)/.exec(rest))) {
      out += match[1];
    } else if ((match = /^[A-Za-z0-9_./:@,+=%{}-]+/.exec(rest))) {
      out += match[0];
    } else {
      return undefined;
    }
    rest = rest.slice(match[0].length);
  }
  return out;
}

export function parseEnvFile(text: string): ParsedEnvFile {
  const values = new Map<string, string>();
  const names: string[] = [];
  const invalid: string[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    const match = ASSIGNMENT.exec(line);
    const value = match ? unquote(match[2] ?? "") : undefined;
    if (!match || value === undefined) {
      invalid.push(line);
      continue;
    }
    const name = match[1] ?? "";
    if (!values.has(name)) names.push(name);
    values.set(name, value);
  }
  return { values, names, invalid };
}

/** `NAME=value` lines for a user-data.env (values single-quoted). */
export function formatEnvFile(env: ReadonlyArray<readonly [string, string]>): string {
  return env.map(([name, value]) => `${name}='${value.replace(/'/g, `'\\''`)}'\n`).join("");
}
