// The root `--help` and `--version` without commander: loading commander (and through the
// commands' option parsers, zod) costs more than Node's own start, and the root help needs
// nothing from them but the command summaries in commands/index.ts. The text is commander's
// own layout (same terms, padding and word wrap); test/cli/root-help.test.ts holds the two equal
// at several widths, so the fast path cannot drift from what `help` prints through commander.
import { COMMANDS } from "../commands/index.js";

export const PROGRAM = {
  name: "podplane-images",
  description:
    "Bake the Debian VM images Podplane clusters run on: fetch verified artifacts, pack vmconfig, bake with Packer, boot-test, publish.",
  version: "0.1.0",
} as const;

/** Commander's width rule: the terminal's columns on a TTY, else 80. */
export function helpWidth(stream: { isTTY?: boolean; columns?: number } = process.stdout): number {
  return (stream.isTTY ? stream.columns : undefined) ?? 80;
}

/** What a command line asks of the root alone, if that is all it asks. */
export function rootRequest(args: readonly string[]): "help" | "version" | undefined {
  if (args.length !== 1) return undefined;
  const [arg] = args;
  if (arg === "--help" || arg === "-h" || arg === "help") return "help";
  if (arg === "--version" || arg === "-V") return "version";
  return undefined;
}

/** Commander's wrap: at whitespace, each line at most `width` wide, a break eats its spaces. */
function wrap(text: string, width: number): string[] {
  const chunks = text.match(/\s*\S+/g) ?? [""];
  const lines: string[] = [];
  let line = chunks[0];
  for (const chunk of chunks.slice(1)) {
    if (line.length + chunk.length <= width) {
      line += chunk;
    } else {
      lines.push(line);
      line = chunk.trimStart();
    }
  }
  lines.push(line);
  return lines;
}

// Commander does not wrap a description narrower than this (its minWidthToWrap).
const MIN_WIDTH_TO_WRAP = 40;

function item(term: string, termWidth: number, description: string, width: number): string {
  const room = width - termWidth - 2 - 2;
  const lines = room < MIN_WIDTH_TO_WRAP ? [description] : wrap(description, room);
  return lines.map((line, i) => (i === 0 ? `  ${term.padEnd(termWidth)}  ${line}` : `${" ".repeat(termWidth + 4)}${line}`)).join("\n");
}

export function rootHelp(width: number): string {
  const options: [string, string][] = [
    ["-V, --version", "output the version number"],
    ["-h, --help", "display help for command"],
  ];
  const commands: [string, string][] = [...COMMANDS.map((entry): [string, string] => [entry.name, entry.summary]), ["help [command]", "display help for command"]];
  const termWidth = Math.max(...[...options, ...commands].map(([term]) => term.length));
  const description = width < MIN_WIDTH_TO_WRAP ? [PROGRAM.description] : wrap(PROGRAM.description, width);
  return [
    `Usage: ${PROGRAM.name} [options] [command]`,
    "",
    ...description,
    "",
    "Options:",
    ...options.map(([term, text]) => item(term, termWidth, text, width)),
    "",
    "Commands:",
    ...commands.map(([term, text]) => item(term, termWidth, text, width)),
    "",
  ].join("\n");
}
