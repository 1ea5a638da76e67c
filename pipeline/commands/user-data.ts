// `user-data`: the slim cloud-init user-data for a kind (writes user-data.env, runs configure.sh).
import { Option, type Command } from "commander";
import { parseKind } from "../cli/options.js";
import { printJson } from "../cli/output.js";
import type { Kind } from "../manifest/schema.js";
import { readEnvFile, renderUserData, USER_DATA_FORMATS, type UserDataFormat } from "../userdata/index.js";

interface UserDataFlags {
  kind: Kind;
  format: UserDataFormat;
  envFile?: string;
  placeholders: boolean;
  json?: boolean;
}

export function register(program: Command): Command {
  return program
    .command("user-data")
    .description("Render the slim cloud-init user-data for a kind")
    .requiredOption("--kind <kind>", "knd or knc", parseKind)
    .addOption(new Option("--format <format>", "a bash script or a #cloud-config document").choices(USER_DATA_FORMATS).default("script"))
    .option("--env-file <file>", "KEY=value lines for user-data.env (user-data and mutable variables of docs/vmconfig.md)")
    .option("--no-placeholders", "leave out the Nstance placeholders of variables the env file does not set")
    .option("--json", "print {kind, format, userData} as JSON on stdout")
    .addHelpText(
      "after",
      `
Without --env-file the output carries Nstance's launch-time placeholders
({{ .Instance.ID }}, {{ .Server.RegistrationAddr }}, ...) verbatim, for Nstance to fill in.
Each value is single-quoted; an unknown or invalid name or value is a usage error.

Exit codes: 0 rendered, 2 bad usage or a bad env file.`,
    )
    .action(async (flags: UserDataFlags) => {
      const env = flags.envFile ? await readEnvFile(flags.envFile) : [];
      const userData = renderUserData({ kind: flags.kind, format: flags.format, env, placeholders: flags.placeholders });
      if (flags.json) printJson({ kind: flags.kind, format: flags.format, userData });
      else process.stdout.write(userData);
    });
}
