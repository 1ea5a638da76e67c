// The slim user-data for a baked image: Podplane's user-data (podplane/podplane
// pkg/userdata/user-data.sh) minus download, verify, extract and install, which the bake did.
// Built line by line in TypeScript, not with a template engine: Nstance evaluates the output as
// a Go template, so the only `{{ }}` in it are the launch placeholders, placed as data.
import { UsageError } from "../errors/index.js";
import type { Kind } from "../manifest/schema.js";
import { USER_DATA_ENV_GROUPS } from "./layout.js";
import { resolveValues, type ResolvedValues, type UserDataOptions } from "./values.js";

export type UserDataFormat = "script" | "cloud-config";
export const USER_DATA_FORMATS: readonly UserDataFormat[] = ["script", "cloud-config"];

/** How long the script waits for nstance-server before it gives up (exit 1), by default. */
export const DEFAULT_REGISTRATION_TIMEOUT_SECONDS = 1200;

export interface RenderOptions extends UserDataOptions {
  format: UserDataFormat;
  /** Only named in a comment: the image, not the user-data, decides the kind. */
  kind?: Kind | undefined;
  registrationTimeoutSeconds?: number | undefined;
  /** @deprecated ignored: an env file is what makes the script concrete. */
  placeholders?: boolean | undefined;
}

/** Podplane's quoteEnv: single quotes, ' as '\''. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** user-data.env exactly as Podplane lays it out: its groups separated by a blank line. */
export function userDataEnvText(env: ReadonlyMap<string, string>): string {
  return `${USER_DATA_ENV_GROUPS.map((group) => group.map((f) => `${f.name}=${shellQuote(env.get(f.name) ?? "")}\n`).join("")).join("\n")}`;
}

function adminSection(keys: string): string[] {
  if (keys === "") return ["# --- 2. Immutable SSH keys: none given, no admin user"];
  return [
    "# --- 2. The admin user for the immutable SSH keys (early-boot debugging) ---",
    `IMMUTABLE_SSH_AUTHORIZED_KEYS=${shellQuote(keys)}`,
    "getent group admin >/dev/null || groupadd admin",
    "id admin >/dev/null 2>&1 || useradd -g admin -m -s /bin/bash admin",
    "mkdir -p /home/admin/.ssh",
    "chmod 0700 /home/admin/.ssh",
    `printf '%s\\n' "$IMMUTABLE_SSH_AUTHORIZED_KEYS" >/home/admin/.ssh/authorized_keys`,
    "chmod 0600 /home/admin/.ssh/authorized_keys",
    "chown admin:admin /home/admin/.ssh /home/admin/.ssh/authorized_keys",
    "mkdir -p /etc/sudoers.d",
    "printf '%s\\n' 'admin ALL=(ALL) NOPASSWD:ALL' >/etc/sudoers.d/admin",
    "chmod 0440 /etc/sudoers.d/admin",
  ];
}

function ssmSection(values: ResolvedValues): string[] {
  if (!values.enableSsm) return [];
  // Never downloaded at boot; baking the agent as a pinned artifact is not done yet.
  return [
    "",
    "# --- 3. AWS SSM agent: started when the image has it (nothing is downloaded) ---",
    "if systemctl cat amazon-ssm-agent.service >/dev/null 2>&1; then",
    '  log "Starting the AWS SSM agent..."',
    "  systemctl enable --now amazon-ssm-agent.service",
    "else",
    '  log "The AWS SSM agent is not in this image: not started (it is never downloaded at boot)."',
    "fi",
  ];
}

function waitSection(timeout: number): string[] {
  return [
    "# --- 4. Wait for a TCP connection to nstance-server (bounded) ---",
    `REGISTRATION_TIMEOUT=${timeout}`,
    'registration_host=${REGISTRATION_ADDR%:*}',
    "registration_host=${registration_host#[}",
    "registration_host=${registration_host%]}",
    'registration_port=${REGISTRATION_ADDR##*:}',
    'log "Checking connectivity to nstance-server at $REGISTRATION_ADDR..."',
    "attempt=0",
    "# shellcheck disable=SC2016 # $1 and $2 expand in the inner bash, passed as arguments, never spliced into code",
    "until timeout 5 bash -c 'echo >\"/dev/tcp/$1/$2\"' _ \"$registration_host\" \"$registration_port\" 2>/dev/null; do",
    "  attempt=$((attempt + 1))",
    "  retry_in=15",
    '  if [ "$attempt" -lt 3 ]; then retry_in=3; fi',
    '  if [ $((SECONDS + retry_in)) -gt "$REGISTRATION_TIMEOUT" ]; then',
    '    log "Giving up: nstance-server at $REGISTRATION_ADDR accepted no TCP connection within $REGISTRATION_TIMEOUT s ($attempt attempts); user-data.env, the identity files and configure were not written or run."',
    "    exit 1",
    "  fi",
    '  log "Failed to connect to nstance-server at $REGISTRATION_ADDR (attempt $attempt), retrying in $retry_in seconds..."',
    '  sleep "$retry_in"',
    "done",
    'log "Connection successful!"',
  ];
}

function identitySection(values: ResolvedValues): string[] {
  if (values.nonce === undefined) return ["# --- 8. Nstance identity: no nonce given, not written"];
  return [
    "# --- 8. Nstance identity: registration nonce and cluster CA, 0600 ---",
    'log "Writing nstance registration nonce file..."',
    "mkdir -p /opt/nstance-agent/identity",
    "chmod 0700 /opt/nstance-agent/identity",
    "cat >/opt/nstance-agent/identity/nonce.jwt <<'NSTANCE_NONCE_JWT'",
    values.nonce,
    "NSTANCE_NONCE_JWT",
    "cat >/opt/nstance-agent/identity/ca.crt <<'NSTANCE_CA_CERT'",
    values.env.get("NSTANCE_CA_CERT") ?? "",
    "NSTANCE_CA_CERT",
    "chmod 0600 /opt/nstance-agent/identity/nonce.jwt /opt/nstance-agent/identity/ca.crt",
    "if id nstance-agent >/dev/null 2>&1; then",
    "  chown nstance-agent:nstance-agent /opt/nstance-agent/identity /opt/nstance-agent/identity/nonce.jwt /opt/nstance-agent/identity/ca.crt",
    "fi",
  ];
}

export function renderScript(values: ResolvedValues, options: { kind?: Kind | undefined; registrationTimeoutSeconds?: number | undefined } = {}): string {
  const timeout = options.registrationTimeoutSeconds ?? DEFAULT_REGISTRATION_TIMEOUT_SECONDS;
  if (!Number.isSafeInteger(timeout) || timeout < 1) throw new UsageError(`the registration timeout must be a positive number of seconds, found ${timeout}`, "EBADUSERDATA");
  const lines = [
    "#!/bin/bash",
    "# Podplane user-data for a baked image (podplane-images user-data): Podplane's user-data",
    "# without download, verify, extract and install; everything it would install is in the image.",
    `# Provider: ${values.provider}${options.kind ? `; image kind: ${options.kind}` : ""}`,
    "set -euo pipefail",
    "umask 077",
    "",
    "log() {",
    "  printf '[userdata] %s\\tts=%s\\n' \"$*\" \"$EPOCHREALTIME\"",
    "}",
    "",
    'log "Podplane user-data (baked image) has started."',
    `INSTANCE_ID=${shellQuote(values.env.get("INSTANCE_ID") ?? "")}`,
    `REGISTRATION_ADDR=${shellQuote(values.env.get("NSTANCE_SERVER_REGISTRATION_ADDR") ?? "")}`,
    "",
    "# --- 1. Hostname: the instance ID ---",
    'hostnamectl set-hostname "$INSTANCE_ID"',
    "",
    ...adminSection(values.env.get("IMMUTABLE_SSH_AUTHORIZED_KEYS") ?? ""),
    ...ssmSection(values),
    "",
    ...waitSection(timeout),
    "",
    "# --- 7. user-data.env (written whole, then moved into place) ---",
    'log "Writing user-data.env file..."',
    "mkdir -p /opt/podplane/etc",
    "cat >/opt/podplane/etc/.user-data.env.tmp <<'USERDATA_ENV'",
    `${userDataEnvText(values.env)}USERDATA_ENV`,
    "chmod 0600 /opt/podplane/etc/.user-data.env.tmp",
    "mv -f /opt/podplane/etc/.user-data.env.tmp /opt/podplane/etc/user-data.env",
    "",
    ...identitySection(values),
    "",
    "# --- 10. configure.sh, 11. restart.sh ---",
    'log "Running configure.sh..."',
    "/opt/podplane/bin/configure.sh",
    'log "Running restart.sh..."',
    "/opt/podplane/bin/restart.sh",
    'log "Podplane user-data has completed successfully."',
  ];
  return `${lines.join("\n")}\n`;
}

/**
 * The same script as a #cloud-config document (written to /run, then run by runcmd). Only for
 * a concrete render: Nstance fills placeholders as plain text, and a multi-line value (the
 * cluster CA) filled into a YAML block would break the document.
 */
function wrapCloudConfig(script: string): string {
  const body = script
    .split("\n")
    .slice(0, -1)
    .map((line) => (line === "" ? "" : `      ${line}`))
    .join("\n");
  return [
    "#cloud-config",
    "# Podplane user-data for a baked image: the script below, run once by runcmd.",
    "write_files:",
    "  - path: /run/podplane/user-data.sh",
    "    owner: root:root",
    "    permissions: '0700'",
    "    content: |",
    body,
    "runcmd:",
    "  - [/run/podplane/user-data.sh]",
    "",
  ].join("\n");
}

export function renderUserData(options: RenderOptions): string {
  const values = resolveValues(options);
  if (options.format === "cloud-config" && values.template) {
    throw new UsageError(
      "--format cloud-config needs --env-file: Nstance fills its placeholders as plain text, and a multi-line value (the cluster CA) would break the YAML; give Nstance the script form",
      "EBADUSERDATA",
    );
  }
  const script = renderScript(values, options);
  return options.format === "cloud-config" ? wrapCloudConfig(script) : script;
}
