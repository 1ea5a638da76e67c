// The one top-level catch: usage/input errors exit 2 with one clear line, work failures exit 1
// with what failed (and where its log is), unexpected errors print their stack.
import { Command, CommanderError } from "commander";
import { describeError, exitCodeFor } from "../errors/index.js";
import { COMMANDS, type CommandEntry } from "../commands/index.js";
import { printError, printJson } from "./output.js";
import { PROGRAM } from "./root-help.js";

function rootProgram(): Command {
  return new Command(PROGRAM.name)
    .description(PROGRAM.description)
    .version(PROGRAM.version)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
}

/** The command a command line runs (`help NAME` asks for NAME's help), if it names one. */
export function commandNamed(args: readonly string[]): CommandEntry | undefined {
  const words = args.filter((arg) => !arg.startsWith("-"));
  const name = words[0] === "help" ? words[1] : words[0];
  return COMMANDS.find((entry) => entry.name === name);
}

/**
 * The program with every command fully registered (for tests and tools that inspect the whole
 * command line surface).
 */
export async function buildProgram(): Promise<Command> {
  const program = rootProgram();
  for (const entry of COMMANDS) {
    (await entry.load()).register(program).exitOverride();
  }
  return program;
}

/**
 * The program for one command line: the command it runs is loaded and registered for real; every
 * other command is only named with its summary, which is all the root --help and commander's
 * "unknown command" suggestions need.
 */
export async function programFor(args: readonly string[]): Promise<Command> {
  const program = rootProgram();
  const wanted = commandNamed(args);
  for (const entry of COMMANDS) {
    if (entry === wanted) (await entry.load()).register(program).exitOverride();
    else program.command(entry.name).description(entry.summary).exitOverride();
  }
  return program;
}

function wantsJson(argv: readonly string[]): boolean {
  return argv.includes("--json");
}

const guarded = new WeakSet<NodeJS.WriteStream>();

/**
 * A reader that closed early (`| head`) is not a failure of ours: from then on writes to that
 * stream are dropped, and the run goes on to its own end, so a failed run still exits 1 and bad
 * usage 2 (exiting on the EPIPE itself would report whatever exit code was set so far, often 0).
 */
function dropOutputOnClosedPipe(stream: NodeJS.WriteStream): void {
  if (guarded.has(stream)) return;
  guarded.add(stream);
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    stream.write = () => true;
  });
}

export async function main(argv: readonly string[]): Promise<number> {
  dropOutputOnClosedPipe(process.stdout);
  dropOutputOnClosedPipe(process.stderr);
  try {
    const program = await programFor(argv.slice(2));
    await program.parseAsync([...argv]);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version surface as "errors" with exit code 0.
      if (error.exitCode === 0) return 0;
      return 2;
    }
    const code = exitCodeFor(error);
    const lines = describeError(error);
    if (wantsJson(argv)) {
      const failure = error as { code?: string; message?: string; data?: unknown };
      printJson({ ok: false, error: { code: failure.code ?? "EUNEXPECTED", message: failure.message ?? String(error), data: failure.data, lines } });
    }
    for (const line of lines) printError(line);
    return code;
  }
}
