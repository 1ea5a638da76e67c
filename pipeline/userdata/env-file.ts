// `--env-file`: KEY=value lines (blank lines and # comments skipped). One pair of matching
// quotes around the whole value is removed; nothing else is interpreted.
import { readFile } from "node:fs/promises";
import { UsageError } from "../errors/index.js";

export function parseEnvText(text: string, source: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  lines.forEach((line, index) => {
    if (line.trim() === "" || line.startsWith("#")) return;
    if (line.includes("\r")) throw new UsageError(`${source}:${index + 1}: carriage return (CRLF line endings?)`, "EBADENV");
    const eq = line.indexOf("=");
    if (eq <= 0) throw new UsageError(`${source}:${index + 1}: expected KEY=value`, "EBADENV");
    const name = line.slice(0, eq);
    let value = line.slice(eq + 1);
    const quote = value[0];
    if ((quote === "'" || quote === '"') && value.length >= 2 && value.endsWith(quote)) value = value.slice(1, -1);
    else if (quote === "'" || quote === '"') throw new UsageError(`${source}:${index + 1}: ${name}: unterminated quote`, "EBADENV");
    out.push([name, value]);
  });
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
