// `user-data`: Podplane's user-data for a baked image (hostname, admin user, wait for
// nstance-server, user-data.env, identity files, configure.sh, restart.sh; nothing installed).
import { readFile } from "node:fs/promises";
import { Option, type Command } from "commander";
import { parseKind, parsePositiveInt } from "../cli/options.js";
import { printJson } from "../cli/output.js";
import { UsageError } from "../errors/index.js";
import type { Kind } from "../manifest/schema.js";
import { DEFAULT_REGISTRATION_TIMEOUT_SECONDS, PROVIDER_KINDS, readEnvFile, renderUserData, USER_DATA_FORMATS, type UserDataFormat } from "../userdata/index.js";

interface UserDataFlags {
  provider?: string;
  awsAccountId?: string;
  googleProjectId?: string;
  sshAuthorizedKeys?: string;
  enableSsm?: boolean;
  envFile?: string;
  nonceFile?: string;
  registrationTimeout: number;
  format: UserDataFormat;
  kind?: Kind;
  json?: boolean;
}

async function readOptionFile(flag: string, file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read ${flag} ${file}: ${(error as Error).message}`, "EBADUSERDATA", { cause: error });
  }
}

export function register(program: Command): Command {
  return program
    .command("user-data")
    .description("Render Podplane's user-data for a baked image (Nstance's launch placeholders kept)")
    .addOption(new Option("--provider <kind>", "the provider kind written to user-data.env").choices(PROVIDER_KINDS))
    .option("--aws-account-id <id>", "aws: the AWS account ID (required with --provider aws)")
    .option("--google-project-id <id>", "google: the Google project ID (required with --provider google)")
    .option("--ssh-authorized-keys <file>", "immutable SSH keys for the admin user (one per line)")
    .option("--enable-ssm", "aws: start the AWS SSM agent when the image has it")
    .option("--env-file <file>", "a user-data.env in Podplane's format: render a concrete script (tests, local VMs)")
    .option("--nonce-file <file>", "with --env-file: the registration nonce for identity/nonce.jwt")
    .option("--registration-timeout <seconds>", "give up waiting for nstance-server after this long (exit 1)", parsePositiveInt, DEFAULT_REGISTRATION_TIMEOUT_SECONDS)
    .addOption(new Option("--format <format>", "a bash script or a #cloud-config document (the latter only with --env-file)").choices(USER_DATA_FORMATS).default("script"))
    .option("--kind <kind>", "the image kind, only named in a comment (the image decides)", parseKind)
    .option("--json", "print {provider, format, userData} as JSON on stdout")
    .addHelpText(
      "after",
      `
The script does what Podplane's user-data does, except download, verify, extract and install
(all of that is baked into the image): sets the hostname to the instance ID, creates the admin
user for --ssh-authorized-keys (sudo without password), waits for a TCP connection to the
registration address (retrying; gives up after --registration-timeout with a log line and
exit 1), writes /opt/podplane/etc/user-data.env (0600, Podplane's names, order and quoting),
the identity files /opt/nstance-agent/identity/nonce.jwt and ca.crt (0600), then runs
configure.sh and restart.sh.

Without --env-file, the fields Nstance fills at launch stay verbatim: {{ .Cluster.ID }},
{{ .Cluster.CACert }}, {{ .Provider.Region }}, {{ .Provider.Zone }}, {{ .Instance.ID }},
{{ .Instance.Type }}, {{ .Server.RegistrationAddr }}, {{ .Server.AgentAddr }}, {{ .Nonce }}.
With --env-file every value comes from the file (options fill the ones it leaves out); without
--nonce-file no identity files are written, as Podplane's user-data does with no nonce.

--enable-ssm only runs 'systemctl enable --now amazon-ssm-agent' when the image has the
agent; nothing is downloaded at boot. Baking the agent into aws images as a pinned artifact
is not done yet.

Left out on purpose (Podplane does these for its local provider only, not for a baked image):
a fixed password for the debian user, DNS=1.1.1.1, the socat forwarder to the CLI's server.

Exit codes: 0 rendered, 2 bad usage or a bad value (the message names it).`,
    )
    .action(async (flags: UserDataFlags) => {
      if (flags.nonceFile && !flags.envFile) throw new UsageError("--nonce-file applies with --env-file (without it the script keeps {{ .Nonce }} for Nstance)", "EBADUSERDATA");
      const env = flags.envFile ? await readEnvFile(flags.envFile) : undefined;
      const sshAuthorizedKeys = flags.sshAuthorizedKeys ? await readOptionFile("--ssh-authorized-keys", flags.sshAuthorizedKeys) : undefined;
      const nonce = flags.nonceFile ? await readOptionFile("--nonce-file", flags.nonceFile) : undefined;
      const userData = renderUserData({
        format: flags.format,
        kind: flags.kind,
        provider: flags.provider,
        awsAccountId: flags.awsAccountId,
        googleProjectId: flags.googleProjectId,
        sshAuthorizedKeys,
        enableSsm: flags.enableSsm,
        env,
        nonce,
        registrationTimeoutSeconds: flags.registrationTimeout,
      });
      if (flags.json) printJson({ provider: flags.provider ?? null, format: flags.format, userData });
      else process.stdout.write(userData);
    });
}
