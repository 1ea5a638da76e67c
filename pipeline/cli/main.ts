// The one top-level catch: usage/input errors exit 2 with one clear line, work failures exit 1
// with what failed (and where its log is), unexpected errors print their stack.
import { Command, CommanderError } from "commander";
import { describeError, exitCodeFor } from "../errors/index.js";
import { COMMANDS } from "../commands/index.js";
import { printError, printJson } from "./output.js";

export function buildProgram(): Command {
  const program = new Command("podplane-images")
    .description("Bake the Debian VM images Podplane clusters run on: fetch verified artifacts, pack vmconfig, bake with Packer, boot-test, publish.")
    .version("0.1.0")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  for (const register of COMMANDS) {
    register(program).exitOverride();
  }
  return program;
}

function wantsJson(argv: readonly string[]): boolean {
  return argv.includes("--json");
}

/** A reader that closed early (`| head`) is not a failure of ours: stop writing quietly. */
function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
}

export async function main(argv: readonly string[]): Promise<number> {
  exitQuietlyOnClosedPipe(process.stdout);
  exitQuietlyOnClosedPipe(process.stderr);
  const program = buildProgram();
  try {
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
