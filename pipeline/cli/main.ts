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
