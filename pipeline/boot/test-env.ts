// The Podplane-format inputs of a boot test: the user-data.env Podplane's user-data writes
// (pkg/userdata/user-data.sh: names, order, blank-line groups, quoteEnv) and the mutable.env the
// Podplane CLI renders (internal/clusterspec: all 39 keys, in its order, single-quoted, defaults
// applied). Values are fake but well-formed; the Nstance addresses are the guest-side ends of the
// test's forwards (run.ts), so the user-data's TCP wait and configure's checks can succeed.
import { readFile } from "node:fs/promises";
import { UsageError } from "../errors/index.js";
import type { Kind } from "../manifest/schema.js";
import { formatEnvFile, parseEnvFile, quoteEnv } from "./envfile.js";

export const PROVIDERS = ["local", "aws", "google", "proxmox"] as const;
export type Provider = (typeof PROVIDERS)[number];

export type EnvPairs = Array<[string, string]>;

/** Podplane's user-data.env, in the order and groups user-data.sh writes them. */
export const USER_DATA_ENV_GROUPS: readonly (readonly string[])[] = [
  ["IMMUTABLE_SSH_AUTHORIZED_KEYS"],
  ["INSTANCE_ID", "CLUSTER_ID"],
  ["PROVIDER_KIND", "PROVIDER_REGION", "PROVIDER_ZONE", "PROVIDER_INSTANCE_TYPE", "AWS_ACCOUNT_ID", "GOOGLE_PROJECT_ID"],
  ["NSTANCE_CA_CERT", "NSTANCE_SERVER_REGISTRATION_ADDR", "NSTANCE_SERVER_AGENT_ADDR"],
];
export const USER_DATA_ENV_NAMES: readonly string[] = USER_DATA_ENV_GROUPS.flat();
/** Fields that may hold several lines; every other one is a single line. */
const MULTI_LINE = new Set(["IMMUTABLE_SSH_AUTHORIZED_KEYS", "NSTANCE_CA_CERT"]);

/** Where the guest reaches the test's Nstance listeners (guestfwd targets; see run.ts). */
/** The registration nonce Nstance would put in {{ .Nonce }}: a JWT-shaped token, unsigned (the
 * test's Nstance listener only accepts connections; it never verifies a registration). */
export const TEST_NONCE = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJub25jZSI6InBvZHBsYW5lLWJvb3QtdGVzdCJ9.";

export const NSTANCE_GUEST = { host: "10.0.2.100", registrationPort: 8443, agentPort: 8444 } as const;

/** The Podplane CLI's mutable.env keys, in the order it renders them. */
export const MUTABLE_ENV_KEYS: readonly string[] = [
  "SSH_AUTHORIZED_KEYS", "TELEMETRY_ENABLED", "TELEMETRY_LOG_CLOUDINIT", "TELEMETRY_LOG_SERVICES", "TELEMETRY_OTLP_ENDPOINT",
  "TELEMETRY_S3_BUCKET", "TELEMETRY_S3_REGION", "TELEMETRY_S3_ENDPOINT", "TELEMETRY_S3_ACCESS_KEY_ID", "TELEMETRY_S3_SECRET_ACCESS_KEY",
  "TELEMETRY_S3_ASSUME_ROLE", "OIDC_ISSUER", "OIDC_CA_CERT", "OIDC_SIGNING_ALGS", "KUBE_API_ETCD_SERVERS", "KUBE_API_PUBLIC_HOSTNAME",
  "KUBE_API_INTERNAL_LB_HOSTNAME", "KUBE_SERVICE_ACCOUNT_ISSUER", "KUBE_CLUSTER_CIDR", "KUBE_NODE_CIDR_MASK_SIZE_IPV4",
  "KUBE_NODE_CIDR_MASK_SIZE_IPV6", "KUBE_SERVICE_CLUSTER_IP_RANGE", "KUBE_CLUSTER_DNS", "KUBE_LOG_LEVEL", "AWS_S3_USE_PATH_STYLE",
  "NETSY_BUCKET", "NETSY_REGION", "NETSY_ENDPOINT", "NETSY_ACCESS_KEY_ID", "NETSY_SECRET_ACCESS_KEY", "NETSY_ASSUME_ROLE",
  "REGISTRY_ENABLED", "REGISTRY_BUCKET", "REGISTRY_REGION", "REGISTRY_ENDPOINT", "REGISTRY_ACCESS_KEY_ID", "REGISTRY_SECRET_ACCESS_KEY",
  "REGISTRY_ASSUME_ROLE", "REGISTRY_HOSTNAME",
];

/** The Podplane CLI's ApplyDefaults (bucket names derive from the cluster ID). */
function mutableDefaults(clusterId: string): Record<string, string> {
  return {
    KUBE_LOG_LEVEL: "2",
    KUBE_CLUSTER_CIDR: "100.64.0.0/10,fd64::/48",
    KUBE_NODE_CIDR_MASK_SIZE_IPV4: "24",
    KUBE_NODE_CIDR_MASK_SIZE_IPV6: "64",
    KUBE_SERVICE_CLUSTER_IP_RANGE: "198.18.0.0/15,fdc6::/108",
    KUBE_CLUSTER_DNS: "198.19.255.254,fdc6::ffff",
    OIDC_SIGNING_ALGS: "RS256",
    TELEMETRY_ENABLED: "false",
    TELEMETRY_LOG_CLOUDINIT: "true",
    REGISTRY_ENABLED: "true",
    NETSY_BUCKET: `${clusterId}-netsy`,
    REGISTRY_BUCKET: `${clusterId}-registry`,
    TELEMETRY_S3_BUCKET: `${clusterId}-telemetry`,
  };
}

export const TEST_INSTANCE_ID = "i-0b00757e57";
export const TEST_CLUSTER_ID = "boot-test";
export const TEST_ADMIN_KEYS = [
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBootTestAdminKeyOne000000000000000000000001 admin-one@boot-test",
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBootTestAdminKeyTwo000000000000000000000002 admin-two@boot-test",
].join("\n");

/** A user-data.env as Podplane's user-data writes it, for a test VM of `kind` under `provider`. */
export function testUserDataEnv(kind: Kind, provider: Provider | "qemu", caPem = "", instanceId = TEST_INSTANCE_ID): EnvPairs {
  // "qemu" is the old name of "local" (bench/boot.bench.ts still passes it).
  const kindOf = provider === "qemu" ? "local" : provider;
  return [
    ["IMMUTABLE_SSH_AUTHORIZED_KEYS", TEST_ADMIN_KEYS],
    ["INSTANCE_ID", instanceId],
    ["CLUSTER_ID", TEST_CLUSTER_ID],
    ["PROVIDER_KIND", kindOf],
    ["PROVIDER_REGION", kindOf === "aws" ? "us-east-1" : "local-1"],
    ["PROVIDER_ZONE", kindOf === "aws" ? "us-east-1a" : "local-1a"],
    ["PROVIDER_INSTANCE_TYPE", kind === "knc" ? "m7i.large" : "t3.medium"],
    ["AWS_ACCOUNT_ID", kindOf === "aws" ? "123456789012" : ""],
    ["GOOGLE_PROJECT_ID", kindOf === "google" ? "boot-test-project" : ""],
    ["NSTANCE_CA_CERT", caPem.trimEnd()],
    ["NSTANCE_SERVER_REGISTRATION_ADDR", `${NSTANCE_GUEST.host}:${NSTANCE_GUEST.registrationPort}`],
    ["NSTANCE_SERVER_AGENT_ADDR", `${NSTANCE_GUEST.host}:${NSTANCE_GUEST.agentPort}`],
  ];
}

/** user-data.env text with user-data.sh's layout (a blank line between groups). */
export function formatUserDataEnv(env: ReadonlyArray<readonly [string, string]>): string {
  const given = new Map(env);
  return USER_DATA_ENV_GROUPS.map((group) => group.filter((n) => given.has(n)).map((n) => `${n}=${quoteEnv(given.get(n) ?? "")}\n`).join(""))
    .filter(Boolean)
    .join("\n");
}

/** Podplane's rules for a user-data.env; throws a UsageError naming the first problem (`source` names the file). */
export function validateUserDataEnv(env: ReadonlyArray<readonly [string, string]>, source: string): void {
  const values = new Map(env);
  for (const [name, value] of env) {
    if (!USER_DATA_ENV_NAMES.includes(name)) throw new UsageError(`${source}: ${name} is not a Podplane user-data.env variable (expected ${USER_DATA_ENV_NAMES.join(", ")})`, "EBADENV");
    // eslint-disable-next-line no-control-regex -- NUL and CR are exactly what is refused
    if (/[\u0000\r]/.test(value)) throw new UsageError(`${source}: ${name} contains a NUL or carriage return`, "EBADENV");
    if (!MULTI_LINE.has(name) && /['\n]/.test(value)) throw new UsageError(`${source}: ${name} is a single-line field but contains a quote or newline`, "EBADENV");
  }
  for (const name of ["INSTANCE_ID", "PROVIDER_KIND", "NSTANCE_SERVER_REGISTRATION_ADDR", "NSTANCE_SERVER_AGENT_ADDR"]) {
    if (!values.get(name)) throw new UsageError(`${source}: ${name} is required`, "EBADENV");
  }
  const kind = values.get("PROVIDER_KIND") ?? "";
  if (!(PROVIDERS as readonly string[]).includes(kind)) throw new UsageError(`${source}: PROVIDER_KIND=${kind} is not one of ${PROVIDERS.join(", ")}`, "EBADENV");
  if (kind === "aws" && (!values.get("AWS_ACCOUNT_ID") || !values.get("CLUSTER_ID"))) throw new UsageError(`${source}: PROVIDER_KIND=aws needs AWS_ACCOUNT_ID and CLUSTER_ID`, "EBADENV");
  if (kind === "google" && !values.get("GOOGLE_PROJECT_ID")) throw new UsageError(`${source}: PROVIDER_KIND=google needs GOOGLE_PROJECT_ID`, "EBADENV");
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(values.get("INSTANCE_ID") ?? "")) throw new UsageError(`${source}: INSTANCE_ID must be a hostname label (it becomes the hostname and the node name)`, "EBADENV");
  for (const name of ["NSTANCE_SERVER_REGISTRATION_ADDR", "NSTANCE_SERVER_AGENT_ADDR"]) {
    if (!/^[^\s:]+:\d{1,5}$/.test(values.get(name) ?? "")) throw new UsageError(`${source}: ${name} must be host:port`, "EBADENV");
  }
}

/** Parses a user-data.env in Podplane's format (never executed) and checks it. */
export function parseUserDataEnv(text: string, source: string): EnvPairs {
  const parsed = parseEnvFile(text);
  if (parsed.invalid.length > 0) throw new UsageError(`${source}: cannot read ${JSON.stringify(parsed.invalid[0])} (expected NAME='value' with '\\'' for a quote)`, "EBADENV");
  const env: EnvPairs = parsed.names.map((name) => [name, parsed.values.get(name) ?? ""]);
  validateUserDataEnv(env, source);
  return env;
}

export async function readUserDataEnvFile(file: string): Promise<EnvPairs> {
  const text = await readFile(file, "utf8").catch((error: unknown) => {
    throw new UsageError(`cannot read --user-data-env ${file}: ${(error as Error).message}`, "EBADENV", { cause: error });
  });
  return parseUserDataEnv(text, file);
}

/** A mutable.env as the Podplane CLI renders it: every key, its order, defaults applied, then `overrides`. */
export function podplaneMutableEnv(clusterId: string, overrides: Readonly<Record<string, string>> = {}): EnvPairs {
  const defaults = mutableDefaults(clusterId);
  for (const name of Object.keys(overrides)) {
    if (!MUTABLE_ENV_KEYS.includes(name)) throw new Error(`${name} is not one of the Podplane CLI's mutable.env keys`);
  }
  return MUTABLE_ENV_KEYS.map((name) => [name, overrides[name] ?? defaults[name] ?? ""]);
}

/** The test cluster's mutable.env: registry on (zot runs); telemetry on for knc only, so both branches of fluent-bit are booted. */
export function testMutableEnv(kind: Kind, clusterId = TEST_CLUSTER_ID): EnvPairs {
  return podplaneMutableEnv(clusterId, {
    SSH_AUTHORIZED_KEYS: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBootTestMutableKey00000000000000000000003 mutable@boot-test",
    TELEMETRY_ENABLED: kind === "knc" ? "true" : "false",
    TELEMETRY_LOG_SERVICES: "kubelet,containerd,nstance-agent",
    TELEMETRY_S3_REGION: "local-1",
    TELEMETRY_S3_ENDPOINT: "https://s3.boot-test.invalid",
    TELEMETRY_S3_ACCESS_KEY_ID: "AKIABOOTTESTTELEMETRY",
    TELEMETRY_S3_SECRET_ACCESS_KEY: "boot-test-telemetry-secret",
    OIDC_ISSUER: "https://oidc.boot-test.invalid",
    KUBE_API_PUBLIC_HOSTNAME: "api.boot-test.invalid",
    KUBE_API_INTERNAL_LB_HOSTNAME: "api-internal.boot-test.invalid",
    KUBE_SERVICE_ACCOUNT_ISSUER: "https://api.boot-test.invalid:6443",
    NETSY_REGION: "local-1",
    NETSY_ENDPOINT: "https://s3.boot-test.invalid",
    NETSY_ACCESS_KEY_ID: "AKIABOOTTESTNETSY",
    NETSY_SECRET_ACCESS_KEY: "boot-test-netsy-secret",
    REGISTRY_REGION: "local-1",
    REGISTRY_ENDPOINT: "https://s3.boot-test.invalid",
    REGISTRY_ACCESS_KEY_ID: "AKIABOOTTESTREGISTRY",
    REGISTRY_SECRET_ACCESS_KEY: "boot-test-registry-secret",
    REGISTRY_HOSTNAME: "registry.boot-test.invalid",
  });
}

function withValues(base: ReadonlyArray<readonly [string, string]>, changes: Readonly<Record<string, string>>): EnvPairs {
  return base.map(([name, value]) => [name, changes[name] ?? value]);
}

/** A valid live update of a full Podplane mutable.env: the log level and the OIDC issuer change. */
export const LIVE_UPDATE_CHANGES: Readonly<Record<string, string>> = { KUBE_LOG_LEVEL: "4", OIDC_ISSUER: "https://oidc-rotated.boot-test.invalid" };

export function liveUpdate(base: ReadonlyArray<readonly [string, string]>): string {
  return formatEnvFile(withValues(base, LIVE_UPDATE_CHANGES));
}

/**
 * Invalid Podplane-format deliveries, each sent on its own and each carrying a valid change too
 * (KUBE_LOG_LEVEL=6), so a half-applied file shows: each must be refused whole.
 */
export function invalidUpdates(base: ReadonlyArray<readonly [string, string]>, injectionMarker: string): Array<{ label: string; content: string }> {
  const changed = withValues(base, { KUBE_LOG_LEVEL: "6" });
  const text = formatEnvFile(changed);
  return [
    { label: "unknown key", content: `${text}NOT_A_PODPLANE_VARIABLE='1'\n` },
    { label: "command substitution", content: text.replace(/^OIDC_ISSUER=.*$/m, `OIDC_ISSUER=$(touch ${injectionMarker})`) },
    { label: "non-numeric log level", content: formatEnvFile(withValues(base, { KUBE_LOG_LEVEL: "loud", OIDC_ISSUER: "https://oidc-invalid.boot-test.invalid" })) },
    { label: "registry without hostname", content: formatEnvFile(withValues(changed, { REGISTRY_ENABLED: "true", REGISTRY_HOSTNAME: "" })) },
  ];
}
