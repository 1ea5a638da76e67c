// `--env-file`: a user-data.env in Podplane's format, read as data (never executed).
// A line is NAME=VALUE; VALUE is a run of single-quoted pieces and \' (Podplane's quoteEnv
// writes ' as '\''), and a quoted piece may span lines (several SSH keys, a PEM). A bare
// value without spaces or shell characters is accepted too. Blank lines and # comments skip.
import { readFile } from "node:fs/promises";
import { UsageError } from "../errors/index.js";

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const BARE = /^[A-Za-z0-9_./:,@%+=-]*/;

export function parseEnvText(text: string, source: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let pos = 0;
  let line = 1;
  const fail = (what: string): never => {
    throw new UsageError(`${source}:${line}: ${what}`, "EBADENV");
  };
  while (pos < text.length) {
    const end = text.indexOf("\n", pos);
    const rest = text.slice(pos, end === -1 ? text.length : end);
    if (rest.trim() === "" || rest.trimStart().startsWith("#")) {
      if (rest.includes("\r")) fail("carriage return (CRLF line endings?)");
      pos = end === -1 ? text.length : end + 1;
      line++;
      continue;
    }
    const name = NAME.exec(rest)?.[0];
    if (!name || rest[name.length] !== "=") fail("expected NAME='value'");
    const startLine = line;
    pos += (name as string).length + 1;
    let value = "";
    for (;;) {
      const c = text[pos];
      if (c === undefined || c === "\n") break;
      if (c === "'") {
        const close = text.indexOf("'", pos + 1);
        if (close === -1) fail(`${name}: unterminated quote`);
        const piece = text.slice(pos + 1, close);
        line += piece.split("\n").length - 1;
        value += piece;
        pos = close + 1;
      } else if (c === "\\" && text[pos + 1] === "'") {
        value += "'";
        pos += 2;
      } else {
        const bare = BARE.exec(text.slice(pos))?.[0] ?? "";
        if (bare === "") fail(`${name}: unexpected ${JSON.stringify(c)}; quote the value as '...' (a ' inside as '\\'')`);
        value += bare;
        pos += bare.length;
      }
    }
    if (value.includes("\r")) {
      line = startLine;
      fail(`${name}: carriage return in the value (CRLF line endings?)`);
    }
    out.push([name as string, value]);
    pos++;
    line++;
  }
  return out;
}

export async function readEnvFile(file: string): Promise<Array<[string, string]>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read --env-file ${file}: ${(error as Error).message}`, "EBADENV", { cause: error });
  }
  return parseEnvText(text, file);
}
