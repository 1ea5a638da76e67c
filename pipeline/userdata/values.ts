// The values of one user-data: from an env file, the build-time options, else Nstance's
// launch-time placeholders; checked as Podplane's validateTemplateValues does (and a little
// more: account/project ID shapes, host:port addresses, heredoc delimiters, `{{` in options).
import { UsageError } from "../errors/index.js";
import { LAUNCH_PLACEHOLDERS, NONCE_PLACEHOLDER, PROVIDER_KINDS, USER_DATA_ENV_FIELDS, type ProviderKind } from "./layout.js";

export interface UserDataOptions {
  /** --provider */
  provider?: string | undefined;
  awsAccountId?: string | undefined;
  googleProjectId?: string | undefined;
  /** The immutable SSH keys (the content of --ssh-authorized-keys). */
  sshAuthorizedKeys?: string | undefined;
  enableSsm?: boolean | undefined;
  /** A user-data.env in Podplane's format: makes the script concrete (no launch placeholders). */
  env?: ReadonlyArray<readonly [string, string]> | undefined;
  /** The registration nonce; without one a concrete script writes no identity files (as Podplane's does). */
  nonce?: string | undefined;
}

export interface ResolvedValues {
  env: Map<string, string>;
  provider: ProviderKind;
  /** Launch placeholders are left in (no env file). */
  template: boolean;
  nonce: string | undefined;
  enableSsm: boolean;
}

/** Heredoc delimiters of the script: no line of a value may equal one. */
export const HEREDOC_DELIMITERS = ["USERDATA_ENV", "NSTANCE_NONCE_JWT", "NSTANCE_CA_CERT"] as const;

const OPTION_FLAG: Record<string, string> = {
  PROVIDER_KIND: "--provider",
  AWS_ACCOUNT_ID: "--aws-account-id",
  GOOGLE_PROJECT_ID: "--google-project-id",
  IMMUTABLE_SSH_AUTHORIZED_KEYS: "--ssh-authorized-keys",
};

const bad = (what: string): never => {
  throw new UsageError(what, "EBADUSERDATA");
};

const isPlaceholder = (value: string): boolean => LAUNCH_PLACEHOLDERS.includes(value);

function checkText(label: string, value: string, multiline: boolean): void {
  if (multiline) {
    if (/[\0\r]/.test(value)) bad(`${label}: contains a NUL or carriage return`);
    // eslint-disable-next-line no-control-regex -- control characters other than newline and tab are refused
    if (/[\u0001-\u0008\u000b-\u001f\u007f]/.test(value)) bad(`${label}: contains a control character`);
    const delimiter = value.split("\n").find((l) => (HEREDOC_DELIMITERS as readonly string[]).includes(l));
    if (delimiter) bad(`${label}: a line reads ${delimiter}, which would end the script's heredoc`);
  } else {
    if (/['\n\r]/.test(value)) bad(`${label}: a single-line value may not contain ' or a newline (Podplane's envstr rule)`);
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
    if (/[\u0000-\u001f\u007f]/.test(value)) bad(`${label}: contains a control character`);
  }
  if (Buffer.byteLength(value) > 65_536) bad(`${label}: longer than 64 KiB`);
}

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

export function resolveValues(options: UserDataOptions): ResolvedValues {
  const template = options.env === undefined;
  const fromFile = new Map<string, string>();
  const known = new Set(USER_DATA_ENV_FIELDS.map((f) => f.name));
  for (const [name, value] of options.env ?? []) {
    if (!known.has(name)) bad(`unknown variable ${name} in the env file: Podplane's user-data.env has ${[...known].join(", ")}`);
    if (fromFile.has(name)) bad(`${name} is given twice in the env file`);
    fromFile.set(name, value);
  }

  const optionValues: Record<string, string | undefined> = {
    PROVIDER_KIND: options.provider,
    AWS_ACCOUNT_ID: options.awsAccountId,
    GOOGLE_PROJECT_ID: options.googleProjectId,
    IMMUTABLE_SSH_AUTHORIZED_KEYS: options.sshAuthorizedKeys?.replace(/\n+$/, ""),
  };
  const env = new Map<string, string>();
  for (const field of USER_DATA_ENV_FIELDS) {
    const flag = OPTION_FLAG[field.name];
    const option = optionValues[field.name];
    const file = fromFile.get(field.name);
    if (option !== undefined && file !== undefined && option !== file) bad(`${flag} contradicts ${field.name} in the env file`);
    if (option !== undefined) {
      // Nstance evaluates the whole script as a template: a build-time value must not look like one.
      if (/\{\{|\}\}/.test(option)) bad(`${flag}: contains {{ or }}, which Nstance would evaluate at launch`);
      checkText(flag ?? field.name, option, field.multiline === true);
    }
    if (file !== undefined) checkText(`${field.name} (env file)`, file, field.multiline === true);
    env.set(field.name, file ?? option ?? (template && field.placeholder ? field.placeholder : ""));
  }

  const provider = env.get("PROVIDER_KIND") ?? "";
  if (provider === "") bad("the provider kind is required: give --provider local|aws|google|proxmox (or PROVIDER_KIND in the env file)");
  if (!(PROVIDER_KINDS as readonly string[]).includes(provider)) bad(`unknown provider kind ${JSON.stringify(provider)}: expected one of ${PROVIDER_KINDS.join(", ")}`);
  for (const name of ["INSTANCE_ID", "CLUSTER_ID", "NSTANCE_SERVER_REGISTRATION_ADDR"]) {
    if ((env.get(name) ?? "") === "") bad(`${name} is required (the env file leaves it empty)`);
  }
  const account = env.get("AWS_ACCOUNT_ID") ?? "";
  const project = env.get("GOOGLE_PROJECT_ID") ?? "";
  if (provider === "aws" && account === "") bad("provider aws needs the AWS account ID: give --aws-account-id");
  if (account !== "" && !/^\d{12}$/.test(account)) bad(`AWS account ID ${JSON.stringify(account)}: expected 12 digits`);
  if (provider === "google" && project === "") bad("provider google needs the Google project ID: give --google-project-id");
  if (project !== "" && !/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(project)) bad(`Google project ID ${JSON.stringify(project)}: expected 6-30 lower-case letters, digits and -, starting with a letter`);
  for (const name of ["NSTANCE_SERVER_REGISTRATION_ADDR", "NSTANCE_SERVER_AGENT_ADDR"]) {
    const value = env.get(name) ?? "";
    if (value !== "" && !isPlaceholder(value) && !HOST_PORT.test(value)) bad(`${name} ${JSON.stringify(value)}: expected host:port`);
  }
  if (!template && (env.get("NSTANCE_CA_CERT") ?? "").includes("'")) bad("NSTANCE_CA_CERT (env file): contains '");
  if (options.enableSsm && provider !== "aws") bad(`--enable-ssm applies to provider aws only (this is ${provider})`);

  let nonce = options.nonce?.replace(/\n+$/, "");
  if (nonce !== undefined) {
    if (nonce === "" || /\s/.test(nonce) || (HEREDOC_DELIMITERS as readonly string[]).includes(nonce)) bad("the nonce must be one non-empty token without spaces or newlines");
  } else if (template) {
    nonce = NONCE_PLACEHOLDER;
  }
  return { env, provider: provider as ProviderKind, template, nonce, enableSsm: options.enableSsm === true };
}
