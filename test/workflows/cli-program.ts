// A check of one argv against the CLI's commander definitions (main.ts's buildProgram, which
// loads every command's module), without running anything.
import type { Command, Option } from "commander";

const isLiteral = (value: string) => !value.includes("$");

function findOption(command: Command, flag: string): Option | undefined {
  for (let c: Command | null = command; c; c = c.parent) {
    const found = c.options.find((o) => o.long === flag || o.short === flag);
    if (found) return found;
  }
  return undefined;
}

/**
 * Problems with one argv (the words after `podplane-images`) against the definitions: an
 * unknown (sub)command, an unknown option, an option missing its value, a literal value outside
 * an option's choices, too few or too many positionals, a mandatory option left out.
 * Values that are shell or workflow expressions are taken as given.
 */
export function argvProblems(program: Command, argv: readonly string[]): { command: string; problems: string[] } {
  const problems: string[] = [];
  let command = program;
  let i = 0;
  while (command.commands.length > 0) {
    const word = argv[i];
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word ?? ""));
    if (!sub) {
      problems.push(`${[...commandPath(command), word ?? "(nothing)"].join(" ")}: no such command (has ${command.commands.map((c) => c.name()).join(", ")})`);
      return { command: commandPath(command).join(" "), problems };
    }
    command = sub;
    i++;
  }
  const name = commandPath(command).join(" ");
  const seen = new Set<Option>();
  let positionals = 0;
  for (; i < argv.length; i++) {
    const word = argv[i] ?? "";
    if (word === "--") {
      positionals += argv.length - i - 1;
      break;
    }
    if (!word.startsWith("-") || word === "-") {
      positionals++;
      continue;
    }
    const [flag = word, inline] = word.startsWith("--") && word.includes("=") ? [word.slice(0, word.indexOf("=")), word.slice(word.indexOf("=") + 1)] : [word, undefined];
    if (flag === "--help" || flag === "-h") continue;
    const option = findOption(command, flag);
    if (!option) {
      problems.push(`${name}: unknown option ${flag}`);
      continue;
    }
    seen.add(option);
    let value = inline;
    if (option.required && value === undefined) {
      value = argv[i + 1];
      if (value === undefined || (value.startsWith("-") && isLiteral(value))) {
        problems.push(`${name}: ${flag} needs a value`);
        continue;
      }
      i++;
    }
    if (value !== undefined && option.argChoices && isLiteral(value) && !option.argChoices.includes(value)) {
      problems.push(`${name}: ${flag} ${value}: not one of ${option.argChoices.join(", ")}`);
    } else if (value !== undefined && option.parseArg && isLiteral(value)) {
      // The command's own value parser (e.g. the comma lists of --kind/--target) judges a literal.
      try {
        option.parseArg(value, option.defaultValue);
      } catch (error) {
        problems.push(`${name}: ${flag} ${value}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  const args = command.registeredArguments;
  const min = args.filter((a) => a.required).length;
  const max = args.some((a) => a.variadic) ? Infinity : args.length;
  if (positionals < min) problems.push(`${name}: needs at least ${min} argument(s), found ${positionals}`);
  if (positionals > max) problems.push(`${name}: takes at most ${max} argument(s), found ${positionals}`);
  for (const option of command.options) {
    if (option.mandatory && option.defaultValue === undefined && !seen.has(option)) problems.push(`${name}: ${option.long ?? option.flags} is required`);
  }
  return { command: name, problems };
}

function commandPath(command: Command): string[] {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names;
}
