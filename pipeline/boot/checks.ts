// The named checks of a boot test, evaluated from guest snapshots. Pure: every input is a
// captured snapshot (or a host-side count), so each rule is unit-tested without a VM. Evidence
// comes from what every binary shows (systemd's MainPID and User, /proc/<pid>/cmdline, status,
// environ, the sockets it listens on); stand-in records may add detail but are never required.
// Each check says what it saw, and only that.
import path from "node:path";
import { parse as parseYaml } from "yaml";
import type { Kind } from "../manifest/schema.js";
import { parseEnvFile } from "./envfile.js";
import { fileContent, restartedUnits, type CommandResult, type FileInfo, type GuestSnapshot, type RuntimeSnapshot } from "./probe.js";
import { deliveriesOfKind, isMutableSource, isSecretVariable, serviceApplies, servicesOfKind, type DeliverySpec, type ServiceSpec, type VmconfigSpec } from "./vmconfig-spec.js";

export interface ImageCheck {
  name: string;
  ok: boolean;
  evidence: string;
}

export const GUEST = {
  userDataEnv: "/opt/podplane/etc/user-data.env",
  detectedEnv: "/opt/podplane/etc/detected.env",
  mutableEnv: "/opt/podplane/etc/mutable.env",
  serviceEnvDir: "/opt/env",
  recvDir: "/opt/nstance-agent/recv",
  keysDir: "/opt/nstance-agent/keys",
  nonce: "/opt/nstance-agent/identity/nonce.jwt",
  identityCa: "/opt/nstance-agent/identity/ca.crt",
  standinDir: "/var/lib/podplane-standin",
  cloudConfig: "/var/lib/cloud/instance/cloud-config.txt",
  injectionMarker: "/tmp/podplane-injected",
} as const;

/** Where delivered material ends up: every file under these is compared across deliveries. */
export const RUNTIME_DIRS = ["/opt/crt/", "/opt/pub/", "/opt/key/", `${GUEST.serviceEnvDir}/`] as const;
export const RUNTIME_GLOBS = ["/opt/crt/*", "/opt/pub/*", "/opt/key/*/*", `${GUEST.serviceEnvDir}/*.env`] as const;

export const CHECK_NAMES = {
  cloudInit: "cloud-init-slim",
  bootstrap: "bootstrap-env",
  identity: "nstance-identity",
  delivery: "delivery-applied",
  serviceEnv: "service-env-files",
  services: "services-active",
  nodeName: "kubelet-node-name",
  liveUpdate: "live-update",
  invalidUpdate: "invalid-update-refused",
  rotation: "certificate-rotation",
  hostile: "hostile-delivery-refused",
  reboot: "reboot-converges",
  noDownload: "no-download",
  runtimeReady: "runtime-ready",
  imagesPreloaded: "images-preloaded",
  containerRuns: "container-runs",
} as const;

export interface CheckContext {
  kind: Kind;
  spec: VmconfigSpec;
  /** The user-data.env the slim user-data carried (Podplane's format). */
  userDataEnv: ReadonlyArray<readonly [string, string]>;
  /** The slim user-data exactly as rendered. */
  userData: string;
  /** sha256 of each delivered file, keyed "recv/<name>" or "keys/<name>". */
  delivered?: Readonly<Record<string, string>>;
}

/**
 * Sockets a service must listen on once it runs (the real binaries' defaults at their pinned
 * versions, which the stand-ins copy); a service not listed must listen on something only when
 * LISTENS_SOMEWHERE says so.
 */
export const LISTENS: Readonly<Record<string, RegExp>> = {
  "kube-apiserver": /^tcp6? \S+:6443$/,
  kubelet: /^tcp6? \S+:10250$/,
  "kube-controller-manager": /^tcp6? \S+:10257$/,
  "kube-scheduler": /^tcp6? \S+:10259$/,
  containerd: /^unix \/run\/containerd\/containerd\.sock$/,
  netsy: /^tcp6? \S+:2378$/,
};
export const LISTENS_SOMEWHERE: readonly string[] = ["zot", "kube2iam"];

export const serviceEnvFile = (service: string): string => `${GUEST.serviceEnvDir}/${service}.env`;
export const unitOf = (service: string): string => `${service}.service`;

function check(name: string, problems: readonly string[], seen: readonly string[]): ImageCheck {
  const ok = problems.length === 0;
  return { name, ok, evidence: [...(ok ? [] : problems.map((p) => `FAIL: ${p}`)), ...seen].join("; ") };
}

function envOf(snapshot: GuestSnapshot, file: string): Map<string, string> | undefined {
  const text = fileContent(snapshot, file);
  return text === undefined ? undefined : parseEnvFile(text).values;
}

/** user-data.env + detected.env + mutable.env, later files overriding (configure.sh's merge); an empty mutable value means the default. */
export function mergedEnv(snapshot: GuestSnapshot, spec?: VmconfigSpec): Map<string, string> {
  const merged = new Map<string, string>();
  for (const variable of spec?.variables ?? []) if (variable.default !== undefined) merged.set(variable.name, variable.default);
  for (const file of [GUEST.userDataEnv, GUEST.detectedEnv, GUEST.mutableEnv]) {
    for (const [name, value] of envOf(snapshot, file) ?? []) if (value !== "" || !merged.has(name)) merged.set(name, value);
  }
  return merged;
}

/** The services of the kind that apply to this VM, those that must not run, and other kinds'. */
export function expectedServices(ctx: CheckContext, snapshot: GuestSnapshot): { running: ServiceSpec[]; stopped: ServiceSpec[]; foreign: ServiceSpec[] } {
  const env = mergedEnv(snapshot, ctx.spec);
  const own = servicesOfKind(ctx.spec, ctx.kind);
  return {
    running: own.filter((s) => serviceApplies(s, env)),
    stopped: own.filter((s) => !serviceApplies(s, env)),
    foreign: ctx.spec.services.filter((s) => !s.kinds.includes(ctx.kind)),
  };
}

const ownUnits = (ctx: CheckContext): string[] => servicesOfKind(ctx.spec, ctx.kind).map((s) => unitOf(s.name));
const short = (unit: string): string => unit.replace(/\.service$/, "");
const userOf = (ctx: CheckContext, service: string): string | undefined => ctx.spec.services.find((s) => s.name === service)?.user;

/** The users a probe asks about: every non-root service user of the kind, and nstance-agent. */
export function serviceUsers(spec: VmconfigSpec, kind: Kind): string[] {
  return [...new Set(["nstance-agent", ...servicesOfKind(spec, kind).map((s) => s.user)])].filter((u) => u && u !== "root").sort();
}

// ---- first boot ---------------------------------------------------------------------------

export function checkCloudInit(ctx: CheckContext, snapshot: GuestSnapshot): ImageCheck {
  const problems: string[] = [];
  const seen: string[] = [];
  const status = snapshot.cloudInit;
  const errors = Array.isArray(status.errors) ? status.errors : ["(no errors field)"];
  const recoverable = status.recoverable_errors && typeof status.recoverable_errors === "object" ? Object.keys(status.recoverable_errors) : ["(no recoverable_errors field)"];
  seen.push(`status ${String(status.status)}`);
  if (status.status !== "done") problems.push(`cloud-init status is ${JSON.stringify(status.status ?? status)}, expected done`);
  if (errors.length > 0) problems.push(`cloud-init errors: ${JSON.stringify(errors).slice(0, 300)}`);
  if (recoverable.length > 0) problems.push(`cloud-init recoverable errors: ${JSON.stringify(status.recoverable_errors).slice(0, 300)}`);

  const scripts = Object.keys(snapshot.cloudScripts);
  seen.push(`user scripts [${scripts.join(", ")}]`);
  const isScript = ctx.userData.startsWith("#!");
  if (isScript) {
    if (scripts.join(",") !== "podplane-user-data") problems.push(`expected exactly the slim user-data script, found [${scripts.join(", ")}]`);
    else if (snapshot.cloudScripts["podplane-user-data"]?.content !== ctx.userData) problems.push("the user script on the VM differs from the rendered slim user-data");
  } else if (scripts.some((s) => s !== "runcmd")) {
    problems.push(`expected only the runcmd of the slim cloud-config, found [${scripts.join(", ")}]`);
  }

  // users + ssh_pwauth: the test-only access part; ssh_keys + ssh_deletekeys: the host key the
  // test generated and pins; bootcmd: its sentinel host names (seed.ts).
  const cloudConfig = (parseYaml(fileContent(snapshot, GUEST.cloudConfig) ?? "") ?? {}) as Record<string, unknown>;
  const keys = Object.keys(cloudConfig).filter((k) => k !== "merge_how" && k !== "_log");
  const testOnly = ["users", "ssh_pwauth", "ssh_keys", "ssh_deletekeys", "bootcmd"];
  const allowed = isScript ? testOnly : [...testOnly, "write_files", "runcmd"];
  seen.push(`cloud-config keys [${keys.join(", ")}] (${testOnly.join(", ")} = the test-only part)`);
  const extra = keys.filter((k) => !allowed.includes(k));
  if (extra.length > 0) problems.push(`cloud-init was asked to do more: ${extra.join(", ")}`);

  const userDataEnv = snapshot.files[GUEST.userDataEnv];
  if (!userDataEnv?.content) {
    problems.push(`${GUEST.userDataEnv} is missing`);
  } else {
    seen.push(`${GUEST.userDataEnv} mode ${userDataEnv.mode}`);
    if (userDataEnv.mode !== "0600") problems.push(`${GUEST.userDataEnv} has mode ${userDataEnv.mode}, expected 0600`);
    const parsed = parseEnvFile(userDataEnv.content);
    if (parsed.invalid.length > 0) problems.push(`user-data.env has unreadable lines: ${parsed.invalid.slice(0, 2).join(" | ")}`);
    const wrong = ctx.userDataEnv.filter(([name, value]) => parsed.values.get(name) !== value).map(([name]) => name);
    const extraNames = parsed.names.filter((name) => !ctx.userDataEnv.some(([n]) => n === name));
    if (wrong.length > 0) problems.push(`user-data.env differs from the test env in ${wrong.join(", ")}`);
    if (extraNames.length > 0) problems.push(`user-data.env has extra variables ${extraNames.join(", ")}`);
    if (wrong.length === 0 && extraNames.length === 0) seen.push(`user-data.env holds the ${parsed.names.length} given values (multi-line ones included)`);
  }
  if (snapshot.dpkgSinceBoot.length > 0) problems.push(`packages were installed at boot: ${snapshot.dpkgSinceBoot.slice(0, 3).join(" | ")}`);
  return check(CHECK_NAMES.cloudInit, problems, seen);
}

export function checkBootstrap(ctx: CheckContext, snapshot: GuestSnapshot): ImageCheck {
  const problems: string[] = [];
  const seen: string[] = [];
  const detectedFile = snapshot.files[GUEST.detectedEnv];
  const detected = envOf(snapshot, GUEST.detectedEnv);
  const mutable = envOf(snapshot, GUEST.mutableEnv);
  if (!detected) problems.push(`${GUEST.detectedEnv} is missing`);
  if (!mutable) problems.push(`${GUEST.mutableEnv} is missing`);
  if (detected) {
    seen.push(`detected.env: ${[...detected].map(([k, v]) => `${k}=${v}`).join(" ")}`);
    if (detectedFile?.mode !== "0600") problems.push(`detected.env has mode ${detectedFile?.mode}, expected 0600`);
    const detectedNames = ctx.spec.variables.filter((v) => v.source === "detected");
    for (const variable of detectedNames) {
      if (variable.required && !detected.get(variable.name)) problems.push(`detected.env has no ${variable.name}`);
    }
    const foreign = [...detected.keys()].filter((name) => !detectedNames.some((v) => v.name === name));
    if (foreign.length > 0) problems.push(`detected.env has non-detected variables ${foreign.join(", ")}`);
    if (detected.has("VMCONFIG_KIND") && detected.get("VMCONFIG_KIND") !== ctx.kind) problems.push(`detected.env says VMCONFIG_KIND=${detected.get("VMCONFIG_KIND")} on a ${ctx.kind} image`);
  }
  if (mutable) {
    const parsed = parseEnvFile(fileContent(snapshot, GUEST.mutableEnv) ?? "");
    if (parsed.invalid.length > 0) problems.push(`mutable.env has unreadable lines: ${parsed.invalid.slice(0, 2).join(" | ")}`);
    const known = ctx.spec.variables.filter((v) => isMutableSource(v.source));
    const foreign = [...mutable.keys()].filter((name) => !known.some((v) => v.name === name));
    if (foreign.length > 0) problems.push(`mutable.env has non-mutable variables ${foreign.join(", ")}`);
    seen.push(`mutable.env: ${mutable.size} variables, mode ${snapshot.files[GUEST.mutableEnv]?.mode}`);
  }
  return check(CHECK_NAMES.bootstrap, problems, seen);
}

function identityFile(problems: string[], seen: string[], snapshot: GuestSnapshot, file: string): FileInfo | undefined {
  const info = snapshot.files[file];
  if (!info) {
    problems.push(`${file} is missing`);
    return undefined;
  }
  if (info.mode !== "0600" || info.owner !== "nstance-agent") problems.push(`${file} is ${info.mode} ${info.owner}:${info.group}, expected 0600 owned by nstance-agent`);
  else seen.push(`${path.basename(file)} 0600 nstance-agent`);
  return info;
}

/**
 * Before any delivery: the identity nstance-agent registers with, the hostname Podplane sets, the
 * wait for the registration address (seen on the host), and nstance-agent running as itself.
 */
export function checkIdentity(ctx: CheckContext, snapshot: GuestSnapshot, nstance: { registrationConnections: number; caSha256?: string }): ImageCheck {
  const problems: string[] = [];
  const seen: string[] = [];
  const given = new Map(ctx.userDataEnv);
  const instanceId = given.get("INSTANCE_ID") ?? "";
  const nonce = identityFile(problems, seen, snapshot, GUEST.nonce);
  if (nonce && nonce.size === 0) problems.push(`${GUEST.nonce} is empty`);
  const ca = identityFile(problems, seen, snapshot, GUEST.identityCa);
  if (ca && nstance.caSha256 && ca.sha256 !== nstance.caSha256) problems.push(`${GUEST.identityCa} is not NSTANCE_CA_CERT (sha256 ${ca.sha256?.slice(0, 12)})`);
  if (snapshot.hostname !== instanceId) problems.push(`the hostname is ${JSON.stringify(snapshot.hostname)}, expected the instance ID ${instanceId}`);
  else seen.push(`hostname ${snapshot.hostname}`);
  if (nstance.registrationConnections === 0) problems.push(`the guest never connected to NSTANCE_SERVER_REGISTRATION_ADDR ${given.get("NSTANCE_SERVER_REGISTRATION_ADDR")}`);
  else seen.push(`${nstance.registrationConnections} TCP connection(s) to the registration address`);
  const agent = snapshot.processes["nstance-agent.service"];
  const unit = snapshot.units["nstance-agent.service"] ?? {};
  if (unit.ActiveState !== "active" || !agent) problems.push(`nstance-agent.service is ${unit.ActiveState ?? "?"}/${unit.SubState ?? "?"} with ${agent ? "a" : "no"} main process`);
  else {
    const uid = snapshot.users["nstance-agent"]?.uid;
    if (uid === undefined || agent.uid[1] !== String(uid)) problems.push(`nstance-agent runs as uid ${agent.uid[1]}, expected nstance-agent (${uid ?? "no such user"})`);
    seen.push(`nstance-agent pid ${agent.pid} uid ${agent.uid[1]} ${agent.argv.slice(0, 3).join(" ")}`);
  }
  return check(CHECK_NAMES.identity, problems, seen);
}

// ---- after the delivery -------------------------------------------------------------------

/** The delivery rows of this kind whose file was delivered, with the digest it must arrive with. */
function deliveredRows(ctx: CheckContext): Array<{ row: DeliverySpec; sha256: string }> {
  const out: Array<{ row: DeliverySpec; sha256: string }> = [];
  for (const row of deliveriesOfKind(ctx.spec, ctx.kind)) {
    const sha256 = ctx.delivered?.[`${row.from}/${row.name}`];
    if (sha256 !== undefined && row.dest !== "-" && row.dest !== "") out.push({ row, sha256 });
  }
  return out;
}

/** Which service users can read `file`, per the probe (asked of the guest kernel as each user). */
function readersOf(snapshot: GuestSnapshot, file: string): string[] {
  return Object.entries(snapshot.access)
    .filter(([, paths]) => paths?.[file] === true)
    .map(([user]) => user)
    .sort();
}

/**
 * A private key (under /opt/key/) or a secret-holding env file may be read by exactly the users
 * of the services that use it; each of those that runs must be able to read it.
 */
function readerProblems(ctx: CheckContext, snapshot: GuestSnapshot, file: string, services: readonly string[]): string[] {
  const running = new Set(expectedServices(ctx, snapshot).running.map((s) => s.name));
  const allowed = new Set(services.map((s) => userOf(ctx, s)).filter((u): u is string => Boolean(u)));
  const readers = readersOf(snapshot, file);
  const problems: string[] = [];
  const intruders = readers.filter((u) => !allowed.has(u));
  if (intruders.length > 0) problems.push(`${file} is readable by ${intruders.join(", ")} (only ${[...allowed].join(", ") || "root"} should read it)`);
  for (const service of services.filter((s) => running.has(s))) {
    const user = userOf(ctx, service);
    if (user && user !== "root" && snapshot.access[user] && !readers.includes(user)) problems.push(`${file} is not readable by ${user}, which ${service} runs as`);
  }
  return problems;
}

export function checkDelivery(ctx: CheckContext, snapshot: GuestSnapshot): ImageCheck {
  const problems: string[] = [];
  const seen: string[] = [];
  const rows = deliveredRows(ctx);
  if (rows.length === 0) problems.push(`no row of deliveries.tsv matches a delivered file (delivered: ${Object.keys(ctx.delivered ?? {}).join(", ") || "nothing"})`);
  let keys = 0;
  for (const { row, sha256 } of rows) {
    const info = snapshot.files[row.dest];
    if (!info) {
      problems.push(`${row.from}/${row.name} did not arrive at ${row.dest}`);
      continue;
    }
    if (info.sha256 !== sha256) problems.push(`${row.dest} differs from the delivered ${row.from}/${row.name}`);
    if (info.isLink) problems.push(`${row.dest} is a symlink`);
    if (info.mode !== row.mode || info.owner !== row.owner || info.group !== row.group) problems.push(`${row.dest} is ${info.mode} ${info.owner}:${info.group}, expected ${row.mode} ${row.owner}:${row.group}`);
    if (row.dest.startsWith("/opt/key/")) {
      keys++;
      problems.push(...readerProblems(ctx, snapshot, row.dest, row.services));
    }
  }
  const readable = Object.entries(snapshot.access).filter(([, paths]) => paths).length;
  seen.push(`${rows.length} delivered files in place with their digests, modes and owners; ${keys} keys each read only by their services' users (asked as ${readable} service users)`);
  return check(CHECK_NAMES.delivery, problems, seen);
}

export function checkServiceEnv(ctx: CheckContext, snapshot: GuestSnapshot): ImageCheck {
  const problems: string[] = [];
  const seen: string[] = [];
  const merged = mergedEnv(snapshot, ctx.spec);
  const sources = new Map<string, string>(ctx.spec.variables.map((v) => [v.name, v.source]));
  const { running, stopped, foreign } = expectedServices(ctx, snapshot);
  for (const service of running) {
    const file = serviceEnvFile(service.name);
    const info = snapshot.files[file];
    if (info?.content === undefined) {
      problems.push(`${file} is missing`);
      continue;
    }
    const parsed = parseEnvFile(info.content);
    if (parsed.invalid.length > 0) problems.push(`${file} has unparseable lines: ${parsed.invalid.join(" | ").slice(0, 200)}`);
    if (parsed.names.join(",") !== service.variables.join(",")) problems.push(`${file} has [${parsed.names.join(",")}], expected [${service.variables.join(",")}]`);
    // Values configure computes (internal) are not compared; the rest come from the merged env.
    const compared = service.variables.filter((name) => sources.get(name) !== "internal" && merged.has(name));
    const wrong = compared.filter((name) => (parsed.values.get(name) ?? "") !== (merged.get(name) ?? ""));
    if (wrong.length > 0) problems.push(`${file}: ${wrong.map((n) => `${n}=${isSecretVariable(n) ? "(secret)" : JSON.stringify(parsed.values.get(n))} (expected ${isSecretVariable(n) ? "the merged value" : JSON.stringify(merged.get(n) ?? "")})`).join(", ")}`);
    const root = service.user === "root";
    const mode = root ? "0600" : "0640";
    const group = root ? "root" : service.user;
    if (info.mode !== mode || info.owner !== "root" || info.group !== group) problems.push(`${file} is ${info.mode} ${info.owner}:${info.group}, expected ${mode} root:${group}`);
    if (!root) problems.push(...readerProblems(ctx, snapshot, file, [service.name]));
    seen.push(`${service.name}.env ${info.mode} root:${info.group} ${parsed.names.length} vars`);
  }
  for (const service of [...stopped, ...foreign]) {
    if (snapshot.files[serviceEnvFile(service.name)]) problems.push(`${serviceEnvFile(service.name)} exists but ${service.name} does not apply to this VM`);
  }
  return check(CHECK_NAMES.serviceEnv, problems, seen);
}

/** Interpreters a script binary runs under (its /proc exe). */
const INTERPRETER = /^(python3(\.\d+)?|bash|sh|dash|perl)$/;

/** One running service, judged from /proc: binary, user, environment, listening sockets. */
function serviceProblems(ctx: CheckContext, snapshot: GuestSnapshot, service: ServiceSpec): { problems: string[]; seen: string } {
  const problems: string[] = [];
  const unit = snapshot.units[unitOf(service.name)] ?? {};
  const state = `${unit.ActiveState ?? "?"}/${unit.SubState ?? "?"}`;
  if (unit.ActiveState !== "active" || unit.SubState !== "running") problems.push(`${service.name} is ${state}, expected active/running`);
  const proc = snapshot.processes[unitOf(service.name)];
  if (!proc) {
    problems.push(`${service.name} has no main process (MainPID ${unit.MainPID ?? "?"})`);
    return { problems, seen: `${service.name} ${state}` };
  }
  const argv0 = path.basename(proc.argv[0] ?? "");
  const exe = path.basename(proc.exe ?? "");
  // A binary that is a script (a stand-in is a Python zip app) runs as its #! interpreter with
  // the binary's path as the first argument; a wrapper that did not exec shows its own run.sh there.
  const script = INTERPRETER.test(exe) && path.basename(proc.argv[1] ?? "") === service.name;
  if (argv0 !== service.name && exe !== service.name && !script) problems.push(`${service.name}'s main process is ${proc.argv.slice(0, 2).join(" ") || "?"} (exe ${proc.exe ?? "?"}), not the ${service.name} binary (a wrapper that does not exec?)`);
  const expectedUid = service.user === "root" ? 0 : snapshot.users[service.user]?.uid;
  if (expectedUid === undefined) problems.push(`${service.name} should run as ${service.user}, which does not exist`);
  else if (proc.uid[0] !== String(expectedUid) || proc.uid[1] !== String(expectedUid)) problems.push(`${service.name} runs as uid ${proc.uid.join("/")}, expected ${service.user} (${expectedUid})`);
  const unitUser = unit.User || "root";
  if (unitUser !== service.user) problems.push(`${service.name}.service has User=${unitUser}, expected ${service.user}`);
  const envFile = envOf(snapshot, serviceEnvFile(service.name));
  // Every variable of the env file reaches the binary; its run.sh may normalise a value (netsy's
  // path style is forced on for local object storage), so names are required, not values.
  const missing = [...(envFile ?? [])].filter(([name]) => proc.environ[name] === undefined).map(([name]) => name);
  if (missing.length > 0) problems.push(`${service.name}'s environment lacks ${missing.join(", ")} of its env file`);
  const listens = proc.cgroupListens;
  const want = LISTENS[service.name];
  if (want && !listens.some((l) => want.test(l))) problems.push(`${service.name} does not listen on ${want.source} (listens: ${listens.join(", ") || "nothing"})`);
  if (LISTENS_SOMEWHERE.includes(service.name) && listens.length === 0) problems.push(`${service.name} listens on nothing`);
  const record = fileContent(snapshot, `${GUEST.standinDir}/${service.name}.args`);
  const detail = record ? " (stand-in record present)" : "";
  return { problems, seen: `${service.name} ${state} pid ${proc.pid} uid ${proc.uid[1]} ${argv0}${listens.length > 0 ? ` listens ${listens.join(",")}` : ""}${detail}` };
}

export function checkServices(ctx: CheckContext, snapshot: GuestSnapshot): ImageCheck {
  const problems: string[] = [];
  const seen: string[] = [];
  const { running, stopped, foreign } = expectedServices(ctx, snapshot);
  for (const service of running) {
    const result = serviceProblems(ctx, snapshot, service);
    problems.push(...result.problems);
    seen.push(result.seen);
  }
  for (const service of stopped) {
    const unit = snapshot.units[unitOf(service.name)] ?? {};
    if (unit.ActiveState === "active" || unit.ActiveState === "activating") problems.push(`${service.name} is ${unit.ActiveState} but needs ${service.when}`);
    seen.push(`${service.name} ${unit.ActiveState ?? "?"} (needs ${service.when})`);
  }
  for (const service of foreign) {
    const unit = snapshot.units[unitOf(service.name)] ?? {};
    if (unit.LoadState !== "not-found") problems.push(`${service.name} (${service.kinds.join(",")} only) is ${unit.LoadState}/${unit.ActiveState} on a ${ctx.kind} image`);
  }
  if (foreign.length > 0) seen.push(`no unit for ${foreign.map((s) => s.name).join(", ")}`);
  const watch = snapshot.units["nstance-recv-watch.path"] ?? {};
  if (watch.ActiveState !== "active") problems.push(`nstance-recv-watch.path is ${watch.ActiveState ?? "?"}, expected active`);
  const failed = snapshot.failedUnits.filter((line) => line.trim() !== "");
  if (failed.length > 0) problems.push(`failed units: ${failed.join(" | ")}`);
  return check(CHECK_NAMES.services, problems, seen);
}

/** The value of `--flag=value` or `--flag value` in argv. */
export function flagValue(argv: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg.startsWith(`${flag}=`)) return arg.slice(flag.length + 1);
    if (arg === flag) return argv[i + 1];
  }
  return undefined;
}

/** kubelet registers as the instance ID: its --hostname-override, or (without one) the hostname. */
export function checkNodeName(ctx: CheckContext, snapshot: GuestSnapshot): ImageCheck {
  const problems: string[] = [];
  const seen: string[] = [];
  const instanceId = new Map(ctx.userDataEnv).get("INSTANCE_ID") ?? "";
  const kubelet = snapshot.processes["kubelet.service"];
  if (!kubelet) return check(CHECK_NAMES.nodeName, ["kubelet has no main process"], seen);
  const override = flagValue(kubelet.argv, "--hostname-override");
  const config = flagValue(kubelet.argv, "--config");
  const configText = config ? snapshot.argvFiles[config]?.content : undefined;
  const fromConfig = configText ? ((parseYaml(configText) ?? {}) as Record<string, unknown>).hostnameOverride : undefined;
  const nodeName = override ?? (typeof fromConfig === "string" ? fromConfig : undefined) ?? snapshot.hostname;
  const source = override !== undefined ? "--hostname-override" : typeof fromConfig === "string" ? `${config} hostnameOverride` : "the hostname (no override)";
  seen.push(`node name ${nodeName} from ${source}`);
  if (nodeName !== instanceId) problems.push(`kubelet's node name is ${JSON.stringify(nodeName)} (from ${source}), expected the instance ID ${instanceId}`);
  if (config && !configText) problems.push(`kubelet's --config ${config} could not be read`);
  const providerId = flagValue(kubelet.argv, "--provider-id");
  if (providerId !== undefined) seen.push(`provider ID ${providerId}`);
  return check(CHECK_NAMES.nodeName, problems, seen);
}

// ---- updates ------------------------------------------------------------------------------

/** The runtime files (certificates, public keys, private keys, env files) and their digests. */
export function runtimeDigests(snapshot: GuestSnapshot): Map<string, string> {
  const out = new Map<string, string>();
  for (const [file, info] of Object.entries(snapshot.files)) {
    if (info && !info.isDir && RUNTIME_DIRS.some((dir) => file.startsWith(dir))) out.set(file, `${info.sha256 ?? info.content ?? "?"} ${info.mode} ${info.owner ?? info.uid}:${info.group ?? info.gid ?? "?"}`);
  }
  return out;
}

/** Files that appeared, vanished or changed between two snapshots, among the runtime files. */
export function changedRuntimeFiles(before: GuestSnapshot, after: GuestSnapshot): string[] {
  const a = runtimeDigests(before);
  const b = runtimeDigests(after);
  return [...new Set([...a.keys(), ...b.keys()])].filter((file) => a.get(file) !== b.get(file)).sort();
}

/** The mutable variables whose effective value (empty = default) differs between two env maps. */
export function changedVariables(spec: VmconfigSpec, before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): string[] {
  const defaults = new Map(spec.variables.map((v) => [v.name, v.default ?? ""]));
  const effective = (env: ReadonlyMap<string, string>, name: string): string => env.get(name) || defaults.get(name) || "";
  // A delivery merges into mutable.env: a name it does not carry keeps its value (the seed's
  // NSTANCE_SERVER_* are not among the CLI's 39), so only the delivered names can change.
  return [...after.keys()].filter((name) => effective(before, name) !== effective(after, name)).sort();
}

/** The services that must restart when `names` change: those that apply and take one of them. */
export function servicesUsing(ctx: CheckContext, snapshot: GuestSnapshot, names: readonly string[]): string[] {
  return expectedServices(ctx, snapshot)
    .running.filter((s) => s.variables.some((v) => names.includes(v)))
    .map((s) => s.name)
    .sort();
}

export function checkLiveUpdate(ctx: CheckContext, before: GuestSnapshot, after: GuestSnapshot, deliveredText: string): ImageCheck {
  const problems: string[] = [];
  const seen: string[] = [];
  const delivered = parseEnvFile(deliveredText).values;
  const names = changedVariables(ctx.spec, envOf(before, GUEST.mutableEnv) ?? new Map(), delivered);
  const expected = servicesUsing(ctx, before, names);
  const restarted = restartedUnits(before, after, ownUnits(ctx)).map(short).sort();
  seen.push(`changed ${names.map((n) => `${n}=${isSecretVariable(n) ? "(secret)" : delivered.get(n)}`).join(" ")}`, `restarted [${restarted.join(", ")}]`, `expected [${expected.join(", ")}]`);
  if (names.length === 0) problems.push("the delivered mutable.env changes nothing: the check cannot tell an update from none");
  if (restarted.join(",") !== expected.join(",")) problems.push(`restarted [${restarted.join(", ")}], expected exactly [${expected.join(", ")}]`);
  const mutable = envOf(after, GUEST.mutableEnv);
  for (const name of names) {
    if ((mutable?.get(name) ?? "") !== (delivered.get(name) ?? "")) problems.push(`mutable.env has ${name}=${JSON.stringify(mutable?.get(name))}, expected ${JSON.stringify(delivered.get(name))}`);
  }
  for (const service of expected) {
    const env = envOf(after, serviceEnvFile(service));
    const stale = names.filter((name) => ctx.spec.services.find((s) => s.name === service)?.variables.includes(name) && env?.get(name) !== delivered.get(name));
    if (stale.length > 0) problems.push(`${service}.env still has old ${stale.join(", ")}`);
  }
  const untouched = expectedServices(ctx, before).running.filter((s) => !expected.includes(s.name));
  const changed = untouched.filter((s) => fileContent(before, serviceEnvFile(s.name)) !== fileContent(after, serviceEnvFile(s.name))).map((s) => s.name);
  if (changed.length > 0) problems.push(`env files changed for services that do not use the changed variables: ${changed.join(", ")}`);
  const certs = changedRuntimeFiles(before, after).filter((f) => !f.startsWith(`${GUEST.serviceEnvDir}/`));
  if (certs.length > 0) problems.push(`certificates or keys changed: ${certs.join(", ")}`);
  const down = expected.filter((s) => after.units[unitOf(s)]?.ActiveState !== "active");
  if (down.length > 0) problems.push(`not active after the update: ${down.join(", ")}`);
  return check(CHECK_NAMES.liveUpdate, problems, seen);
}

/** A refused delivery (invalid mutable.env or hostile recv file), compared with the snapshot just before it. */
export function checkNothingChanged(name: string, ctx: CheckContext, before: GuestSnapshot, after: GuestSnapshot): ImageCheck {
  const problems: string[] = [];
  const seen: string[] = [];
  if (fileContent(before, GUEST.mutableEnv) !== fileContent(after, GUEST.mutableEnv)) problems.push("mutable.env changed");
  const changed = changedRuntimeFiles(before, after);
  if (changed.length > 0) problems.push(`runtime files changed: ${changed.join(", ")}`);
  else seen.push(`mutable.env and ${runtimeDigests(after).size} runtime files byte-for-byte unchanged`);
  const restarted = restartedUnits(before, after, ownUnits(ctx));
  if (restarted.length > 0) problems.push(`services restarted: ${restarted.map(short).join(", ")}`);
  else seen.push("no MainPID or InvocationID changed");
  if (after.files[GUEST.injectionMarker]) problems.push(`the injected command ran: ${GUEST.injectionMarker} exists`);
  const previous = new Set(before.journal);
  const logged = after.journal.filter((line) => !previous.has(line) && /reject|refus|invalid|unknown|not allowed|error/i.test(line));
  if (logged.length === 0) problems.push("no refusal was logged to the journal");
  else seen.push(`logged: ${logged.slice(0, 2).map((l) => l.replace(/^\[\s*[\d.]+\]\s*/, "")).join(" | ")}`);
  return check(name, problems, seen);
}

export function checkInvalidUpdate(ctx: CheckContext, before: GuestSnapshot, after: GuestSnapshot): ImageCheck {
  return checkNothingChanged(CHECK_NAMES.invalidUpdate, ctx, before, after);
}

export function checkHostileDelivery(ctx: CheckContext, before: GuestSnapshot, after: GuestSnapshot): ImageCheck {
  return checkNothingChanged(CHECK_NAMES.hostile, ctx, before, after);
}

/**
 * A delivery that rotates some files (e.g. kubelet.server.crt + its key): each arrives, nothing
 * else changes, and exactly the services that use them restart (deliveries.tsv's services).
 */
export function checkRotation(ctx: CheckContext, before: GuestSnapshot, after: GuestSnapshot, rotated: Readonly<Record<string, string>>): ImageCheck {
  const problems: string[] = [];
  const seen: string[] = [];
  const running = new Set(expectedServices(ctx, before).running.map((s) => s.name));
  const rows = deliveriesOfKind(ctx.spec, ctx.kind).filter((row) => rotated[`${row.from}/${row.name}`] !== undefined);
  if (rows.length === 0) problems.push(`deliveries.tsv has no row for ${Object.keys(rotated).join(", ")}`);
  const expected = [...new Set(rows.flatMap((row) => row.services))].filter((s) => running.has(s)).sort();
  const dests = new Set(rows.map((row) => row.dest));
  for (const row of rows) {
    if (after.files[row.dest]?.sha256 !== rotated[`${row.from}/${row.name}`]) problems.push(`${row.dest} does not hold the rotated ${row.name}`);
  }
  const others = changedRuntimeFiles(before, after).filter((file) => !dests.has(file));
  if (others.length > 0) problems.push(`other runtime files changed too: ${others.join(", ")}`);
  const restarted = restartedUnits(before, after, ownUnits(ctx)).map(short).sort();
  seen.push(`rotated ${Object.keys(rotated).join(", ")}`, `restarted [${restarted.join(", ")}]`, `expected [${expected.join(", ")}]`);
  if (restarted.join(",") !== expected.join(",")) problems.push(`restarted [${restarted.join(", ")}], expected exactly [${expected.join(", ")}]`);
  const down = expected.filter((s) => after.units[unitOf(s)]?.ActiveState !== "active");
  if (down.length > 0) problems.push(`not active after the rotation: ${down.join(", ")}`);
  return check(CHECK_NAMES.rotation, problems, seen);
}

/** Several labelled results of one named check folded into one (ok only when all are). */
export function foldChecks(name: string, results: ReadonlyArray<{ label: string; check: ImageCheck }>): ImageCheck {
  return {
    name,
    ok: results.length > 0 && results.every((r) => r.check.ok),
    evidence: results.map((r) => `${r.label}: ${r.check.evidence}`).join(" || "),
  };
}

// ---- reboot and downloads -----------------------------------------------------------------

export function checkReboot(ctx: CheckContext, before: GuestSnapshot, after: GuestSnapshot): ImageCheck {
  const problems: string[] = [];
  const seen: string[] = [];
  if (before.bootId === after.bootId) problems.push("the VM did not reboot (same boot id)");
  else seen.push(`rebooted (boot id ${after.bootId.slice(0, 8)})`);
  for (const file of [GUEST.userDataEnv, GUEST.detectedEnv]) {
    const a = before.files[file];
    const b = after.files[file];
    if (!a || !b || a.content !== b.content || a.mtimeNs !== b.mtimeNs || a.inode !== b.inode) problems.push(`${file} changed across the reboot`);
  }
  if (fileContent(before, GUEST.mutableEnv) !== fileContent(after, GUEST.mutableEnv)) problems.push("mutable.env changed across the reboot (bootstrap re-seeded it?)");
  const changed = changedRuntimeFiles(before, after);
  if (changed.length > 0) problems.push(`runtime files differ after the reboot: ${changed.join(", ")}`);
  if (problems.length === 0) seen.push(`user-data.env, detected.env, mutable.env and ${runtimeDigests(after).size} runtime files unchanged`);
  const configure = after.units["podplane-configure.service"] ?? {};
  if (configure.ActiveState !== "active" || configure.Result !== "success") problems.push(`podplane-configure.service is ${configure.ActiveState}/${configure.Result}, expected active/success`);
  else seen.push("podplane-configure.service ran at boot");
  const services = checkServices(ctx, after);
  if (!services.ok) problems.push(`after the reboot: ${services.evidence}`);
  else seen.push(`all ${expectedServices(ctx, after).running.length} services active again`);
  const bootstrapped = after.journal.filter((line) => /podplane-bootstrap/.test(line) && /wrote|writ|seed/i.test(line));
  if (bootstrapped.length > 0) problems.push(`bootstrap ran again: ${bootstrapped[0]}`);
  return check(CHECK_NAMES.reboot, problems, seen);
}

/** What the host-side download sentinel saw: every TCP connection, with the first line it carried. */
export interface SentinelRecord {
  /** Guest-side address the sentinel names resolve to, e.g. 10.0.2.101. */
  guestAddress: string;
  hosts: readonly string[];
  connections: ReadonlyArray<{ port: number; firstLine: string }>;
  /** The canary path the final probe fetches to prove the sentinel is reachable. */
  canaryPath: string;
  /** The host port a restricted guest must not reach directly (10.0.2.2:<port>). */
  hostPort: number;
}

const isCanary = (record: SentinelRecord, firstLine: string): boolean => firstLine.startsWith(`GET ${record.canaryPath} `);

export function checkNoDownload(snapshots: readonly GuestSnapshot[], sentinel: SentinelRecord): ImageCheck {
  const problems: string[] = [];
  const seen: string[] = [];
  const downloads = sentinel.connections.filter((c) => !isCanary(sentinel, c.firstLine));
  const canaries = sentinel.connections.length - downloads.length;
  const where = `${sentinel.guestAddress}:80,443 (${sentinel.hosts.length} download hosts resolve there in the guest)`;
  for (const attempt of downloads.slice(0, 5)) problems.push(`a download attempt reached the sentinel on port ${attempt.port}: ${JSON.stringify(attempt.firstLine.slice(0, 120))}`);
  if (canaries === 0) problems.push(`the sentinel ${where} saw no canary request, so it could not have seen a download either (${snapshots.find((s) => s.canary !== null)?.canary ?? "canary not fetched"})`);
  else seen.push(`sentinel ${where}: ${downloads.length} download connections, ${canaries} canary request(s)`);
  for (const snapshot of snapshots) {
    if (snapshot.connect === "connected") problems.push(`the VM reached the host directly at 10.0.2.2:${sentinel.hostPort}`);
    if (snapshot.dpkgSinceBoot.length > 0) problems.push(`dpkg.log shows installs since boot: ${snapshot.dpkgSinceBoot[0]}`);
  }
  const direct = snapshots.find((s) => s.connect !== null)?.connect;
  if (direct && direct !== "connected") seen.push(`VM → host 10.0.2.2:${sentinel.hostPort}: ${direct}`);
  if (snapshots.every((s) => s.dpkgSinceBoot.length === 0)) seen.push(`dpkg.log: no install or upgrade since boot in ${snapshots.length} snapshots`);
  return check(CHECK_NAMES.noDownload, problems, seen);
}

// ---- the container runtime ----------------------------------------------------------------

/** The containerd config the room writes, and the CNI plugins the runtime-ready check asks. */
export const CONTAINERD_CONFIG = "/etc/containerd/config.toml";
export const RUNC_PATH = "/usr/local/sbin/runc";
export const CNI_BIN_DIR = "/opt/cni/bin";
export const REQUIRED_CNI_PLUGINS = ["bridge", "host-local", "loopback", "portmap"] as const;

/** One pinned image (the manifest's vmconfig.images entry, or installed.json's). */
export interface PinnedImage {
  image: string;
  index: string;
  digest: string;
  platform?: string;
}

const brief = (r: CommandResult | null | undefined): string => (r ? `exit ${r.code}${`${r.stderr}${r.stdout}`.trim() ? `: ${`${r.stderr || r.stdout}`.trim().split("\n").slice(-1)[0]?.slice(0, 160)}` : ""}` : "not run");

/** The value of a TOML `key = "value"` line (first one; the room writes each once). */
function tomlString(text: string, key: string): string | undefined {
  return new RegExp(`^\\s*${key}\\s*=\\s*["']([^"']*)["']`, "m").exec(text)?.[1];
}

/** `ctr images ls` rows: ref → target digest. */
export function imageTable(result: CommandResult | null): Map<string, string> {
  const table = new Map<string, string>();
  if (!result || result.code !== 0) return table;
  for (const line of result.stdout.split("\n").slice(1)) {
    const [ref, , digest] = line.trim().split(/\s+/);
    if (ref && digest?.startsWith("sha256:")) table.set(ref, digest);
  }
  return table;
}

/** The images installed.json lists as preloaded by the bake. */
export function preloadedImages(installed: string | null): PinnedImage[] {
  if (!installed) return [];
  try {
    const doc = JSON.parse(installed) as { images?: Array<PinnedImage & { preloaded?: boolean }> };
    return (doc.images ?? []).filter((i) => i.preloaded === true);
  } catch {
    return [];
  }
}

/** containerd active with the room's config, its CRI plugin loaded, runc and the CNI plugins answering. */
export function checkRuntimeReady(runtime: RuntimeSnapshot): ImageCheck {
  const problems: string[] = [];
  const seen: string[] = [];
  const unit = runtime.unit;
  if (unit.ActiveState !== "active" || unit.SubState !== "running") problems.push(`containerd.service is ${unit.ActiveState ?? "?"}/${unit.SubState ?? "?"}, expected active/running`);
  else seen.push(`containerd active/running (pid ${unit.MainPID}, ${unit.NRestarts ?? "?"} restarts)`);
  if (Number(unit.NRestarts ?? 0) > 0) problems.push(`containerd restarted ${unit.NRestarts} times`);
  const config = flagValue(runtime.argv, "--config") ?? flagValue(runtime.argv, "-c");
  if (config !== CONTAINERD_CONFIG) problems.push(`containerd runs with ${config ? `--config ${config}` : "no --config"} (argv ${runtime.argv.join(" ") || "unknown"}), expected ${CONTAINERD_CONFIG}`);
  const text = runtime.config ?? "";
  if (runtime.config === null) problems.push(`${CONTAINERD_CONFIG} is missing`);
  else {
    if (!/^version\s*=\s*3\s*$/m.test(text)) problems.push(`${CONTAINERD_CONFIG} is not config version 3 (containerd 2.x)`);
    if (tomlString(text, "BinaryName") !== RUNC_PATH) problems.push(`${CONTAINERD_CONFIG} does not run runc from ${RUNC_PATH}`);
    if (!text.includes(`"${CNI_BIN_DIR}"`)) problems.push(`${CONTAINERD_CONFIG} does not name the CNI bin dir ${CNI_BIN_DIR}`);
  }
  const cri = runtime.plugins.stdout.split("\n").find((line) => /^io\.containerd\.grpc\.v1\s+cri\s/.test(line.trim()));
  if (runtime.plugins.code !== 0) problems.push(`ctr plugins ls: ${brief(runtime.plugins)}`);
  else if (!cri) problems.push("ctr plugins ls shows no io.containerd.grpc.v1 cri plugin");
  else if (!/\sok\s*$/.test(cri)) problems.push(`the CRI plugin is not ok: ${cri.trim().replace(/\s+/g, " ")}`);
  else seen.push("CRI plugin io.containerd.grpc.v1.cri ok");
  const runcVersion = /^runc version (\S+)/m.exec(runtime.runc.stdout)?.[1];
  if (runtime.runc.code !== 0 || !runcVersion) problems.push(`${RUNC_PATH} --version: ${brief(runtime.runc)}`);
  else seen.push(`runc ${runcVersion}`);
  const answered: string[] = [];
  for (const name of REQUIRED_CNI_PLUGINS) {
    const result = runtime.cni[name];
    let versions: unknown;
    try {
      versions = result && result.code === 0 ? (JSON.parse(result.stdout) as { supportedVersions?: unknown }).supportedVersions : undefined;
    } catch {
      versions = undefined;
    }
    if (!Array.isArray(versions) || versions.length === 0) problems.push(`${CNI_BIN_DIR}/${name} with CNI_COMMAND=VERSION: ${result ? brief(result) : "not asked"}${result?.code === 0 ? " (no supportedVersions)" : ""}`);
    else answered.push(name);
  }
  if (answered.length > 0) seen.push(`CNI plugins answer VERSION: ${answered.join(", ")}`);
  return check(CHECK_NAMES.runtimeReady, problems, seen);
}

/**
 * Every expected image (the manifest's, else installed.json's preloaded ones) is in namespace
 * k8s.io under its name at its pinned index digest, its platform manifest in the content store,
 * and the CRI sandbox image is the pinned pause image by its own name (never pulled).
 */
export function checkImagesPreloaded(runtime: RuntimeSnapshot, expected: readonly PinnedImage[]): ImageCheck {
  const problems: string[] = [];
  const seen: string[] = [];
  const images = imageTable(runtime.images);
  const content = new Set(runtime.content.code === 0 ? runtime.content.stdout.split("\n").map((l) => l.trim()) : []);
  if (runtime.images.code !== 0) problems.push(`ctr -n k8s.io images ls: ${brief(runtime.images)}`);
  if (expected.length === 0) problems.push("no image is pinned (neither the manifest nor installed.json names one): nothing to check");
  const installed = preloadedImages(runtime.installed);
  for (const image of expected) {
    const found = images.get(image.image);
    if (!found) problems.push(`${image.image} is not in containerd's namespace k8s.io (images: ${[...images.keys()].join(", ") || "none"})`);
    else if (found !== image.index) problems.push(`${image.image} points at ${found}, pinned index ${image.index}`);
    else if (!content.has(image.digest)) problems.push(`${image.image}: its platform manifest ${image.digest} is not in the content store`);
    else seen.push(`${image.image} @ ${image.index.slice(0, 19)}… (manifest ${image.digest.slice(0, 19)}… present)`);
    const listed = installed.find((i) => i.image === image.image);
    if (!listed || listed.index !== image.index || listed.digest !== image.digest) problems.push(`installed.json does not list ${image.image} as preloaded with its pinned digests`);
  }
  const sandbox = tomlString(runtime.config ?? "", "sandbox");
  const pause = expected.find((i) => /^registry\.k8s\.io\/pause:/.test(i.image));
  if (!pause) problems.push("no registry.k8s.io/pause image is pinned");
  else if (sandbox !== pause.image) problems.push(`the CRI sandbox image is ${sandbox ? JSON.stringify(sandbox) : "containerd's default"}, expected the preloaded ${pause.image}`);
  else seen.push(`CRI sandbox image ${sandbox}`);
  return check(CHECK_NAMES.imagesPreloaded, problems, seen);
}

/**
 * A container from a preloaded image ran under runc and exited 0 with the expected output, and
 * nothing was pulled for it: the image table and the content store are the same after the run.
 */
export function checkContainerRuns(runtime: RuntimeSnapshot, expectOutput: RegExp): ImageCheck {
  const problems: string[] = [];
  const seen: string[] = [];
  const result = runtime.run;
  if (!result) return check(CHECK_NAMES.containerRuns, ["no container was run"], seen);
  const label = `ctr run --rm ${result.image} ${result.args.join(" ")}`;
  if (result.code !== 0) problems.push(`${label}: ${brief(result)}`);
  else if (!expectOutput.test(result.stdout)) problems.push(`${label} printed ${JSON.stringify(result.stdout.slice(0, 160))}, expected ${String(expectOutput)}`);
  else seen.push(`${label} → exit 0, ${JSON.stringify(result.stdout.trim().slice(0, 80))}`);
  const before = imageTable(runtime.images);
  const after = imageTable(runtime.imagesAfter);
  if (!before.has(result.image)) problems.push(`${result.image} was not in namespace k8s.io before the run`);
  const changed = [...new Set([...before.keys(), ...after.keys()])].filter((ref) => before.get(ref) !== after.get(ref));
  if (changed.length > 0) problems.push(`images changed during the run (pulled?): ${changed.join(", ")}`);
  const blobs = (r: CommandResult | null): string => (r?.code === 0 ? r.stdout.split("\n").map((l) => l.trim()).filter(Boolean).sort().join(",") : "?");
  if (blobs(runtime.content) !== blobs(runtime.contentAfter)) problems.push("the content store changed during the run (something was fetched)");
  else if (changed.length === 0) seen.push("image table and content store unchanged (nothing pulled)");
  const route = runtime.route.stdout.trim();
  seen.push(`default route: ${route || "none"} (QEMU restricted user network: nothing leaves the host)`);
  return check(CHECK_NAMES.containerRuns, problems, seen);
}
