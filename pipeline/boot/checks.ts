// The named checks of a boot test, evaluated from guest snapshots. Pure: every input is a
// captured snapshot, so each rule is unit-tested without a VM. Each check says what it saw.
import { parse as parseYaml } from "yaml";
import type { Kind } from "../manifest/schema.js";
import { parseEnvFile } from "./envfile.js";
import { fileContent, restartedUnits, type GuestSnapshot } from "./probe.js";
import { isSecretVariable, serviceApplies, servicesOfKind, type ServiceSpec, type VmconfigSpec } from "./vmconfig-spec.js";

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
  standinDir: "/var/lib/podplane-standin",
  cloudConfig: "/var/lib/cloud/instance/cloud-config.txt",
  injectionMarker: "/tmp/podplane-injected",
} as const;

export const CHECK_NAMES = {
  cloudInit: "cloud-init-slim",
  bootstrap: "bootstrap-env",
  serviceEnv: "service-env-files",
  services: "services-active",
  liveUpdate: "live-update",
  invalidUpdate: "invalid-update-refused",
  reboot: "reboot-converges",
  noDownload: "no-download",
} as const;

export interface CheckContext {
  kind: Kind;
  spec: VmconfigSpec;
  /** The test user-data.env the slim user-data carried. */
  userDataEnv: ReadonlyArray<readonly [string, string]>;
  /** The slim user-data exactly as rendered. */
  userData: string;
}

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

/** user-data.env + detected.env + mutable.env, later files overriding (configure.sh's merge). */
export function mergedEnv(snapshot: GuestSnapshot): Map<string, string> {
  const merged = new Map<string, string>();
  for (const file of [GUEST.userDataEnv, GUEST.detectedEnv, GUEST.mutableEnv]) {
    for (const [name, value] of envOf(snapshot, file) ?? []) merged.set(name, value);
  }
  return merged;
}

/** The services of the kind that apply to this VM, and those that must not run. */
export function expectedServices(ctx: CheckContext, snapshot: GuestSnapshot): { running: ServiceSpec[]; stopped: ServiceSpec[]; foreign: ServiceSpec[] } {
  const env = mergedEnv(snapshot);
  const own = servicesOfKind(ctx.spec, ctx.kind);
  return {
    running: own.filter((s) => serviceApplies(s, env)),
    stopped: own.filter((s) => !serviceApplies(s, env)),
    foreign: ctx.spec.services.filter((s) => !s.kinds.includes(ctx.kind)),
  };
}

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

  // The user scripts that ran: the slim user-data (script format) and nothing else.
  const scripts = Object.keys(snapshot.cloudScripts);
  seen.push(`user scripts [${scripts.join(", ")}]`);
  const isScript = ctx.userData.startsWith("#!");
  if (isScript) {
    if (scripts.join(",") !== "podplane-user-data") problems.push(`expected exactly the slim user-data script, found [${scripts.join(", ")}]`);
    else if (snapshot.cloudScripts["podplane-user-data"]?.content !== ctx.userData) problems.push("the user script on the VM differs from the rendered slim user-data");
  } else if (scripts.some((s) => s !== "runcmd")) {
    problems.push(`expected only the runcmd of the slim cloud-config, found [${scripts.join(", ")}]`);
  }

  // The cloud-config cloud-init acted on: the test-access user, plus (cloud-config format) the write of user-data.env and runcmd.
  const cloudConfigText = fileContent(snapshot, GUEST.cloudConfig) ?? "";
  const cloudConfig = (parseYaml(cloudConfigText) ?? {}) as Record<string, unknown>;
  const keys = Object.keys(cloudConfig).filter((k) => k !== "merge_how" && k !== "_log");
  // users + ssh_pwauth: the test-only access part (seed.ts).
  const allowed = isScript ? ["users", "ssh_pwauth"] : ["users", "ssh_pwauth", "write_files", "runcmd"];
  seen.push(`cloud-config keys [${keys.join(", ")}] (users, ssh_pwauth = the test-only access part)`);
  const extra = keys.filter((k) => !allowed.includes(k));
  if (extra.length > 0) problems.push(`cloud-init was asked to do more: ${extra.join(", ")}`);
  const writes = Array.isArray(cloudConfig.write_files) ? (cloudConfig.write_files as Array<{ path?: string }>).map((w) => w.path ?? "") : [];
  if (writes.some((p) => p !== GUEST.userDataEnv)) problems.push(`write_files writes ${writes.join(", ")}`);

  // What it did: user-data.env, 0600, exactly the test values; configure.sh wrote the env files after it.
  const userDataEnv = snapshot.files[GUEST.userDataEnv];
  if (!userDataEnv?.content) {
    problems.push(`${GUEST.userDataEnv} is missing`);
  } else {
    seen.push(`${GUEST.userDataEnv} mode ${userDataEnv.mode}`);
    if (userDataEnv.mode !== "0600") problems.push(`${GUEST.userDataEnv} has mode ${userDataEnv.mode}, expected 0600`);
    const written = parseEnvFile(userDataEnv.content).values;
    const wrong = ctx.userDataEnv.filter(([name, value]) => written.get(name) !== value).map(([name]) => name);
    const extraNames = [...written.keys()].filter((name) => !ctx.userDataEnv.some(([n]) => n === name));
    if (wrong.length > 0) problems.push(`user-data.env differs from the test env in ${wrong.join(", ")}`);
    if (extraNames.length > 0) problems.push(`user-data.env has extra variables ${extraNames.join(", ")}`);
    const envFiles = Object.entries(snapshot.files).filter(([file, info]) => file.startsWith(`${GUEST.serviceEnvDir}/`) && info && !info.isDir);
    const older = envFiles.filter(([, info]) => BigInt(info?.mtimeNs ?? "0") < BigInt(userDataEnv.mtimeNs)).map(([file]) => file);
    if (envFiles.length === 0) problems.push("configure.sh wrote no /opt/env/*.env");
    else if (older.length > 0) problems.push(`env files older than user-data.env: ${older.join(", ")}`);
    else seen.push(`configure.sh ran: ${envFiles.length} env files written after user-data.env`);
  }
  if (snapshot.dpkgSinceBoot.length > 0) problems.push(`packages were installed at boot: ${snapshot.dpkgSinceBoot.slice(0, 3).join(" | ")}`);
  return check(CHECK_NAMES.cloudInit, problems, seen);
}

export function checkBootstrap(ctx: CheckContext, snapshot: GuestSnapshot): ImageCheck {
  const problems: string[] = [];
  const seen: string[] = [];
  const detected = envOf(snapshot, GUEST.detectedEnv);
  const mutable = envOf(snapshot, GUEST.mutableEnv);
  if (!detected) problems.push(`${GUEST.detectedEnv} is missing`);
  if (!mutable) problems.push(`${GUEST.mutableEnv} is missing`);
  if (detected) {
    seen.push(`detected.env: ${[...detected].map(([k, v]) => `${k}=${v}`).join(" ")}`);
    const detectedNames = ctx.spec.variables.filter((v) => v.source === "detected");
    for (const variable of detectedNames) {
      if (variable.required && !detected.get(variable.name)) problems.push(`detected.env has no ${variable.name}`);
    }
    const foreign = [...detected.keys()].filter((name) => !detectedNames.some((v) => v.name === name));
    if (foreign.length > 0) problems.push(`detected.env has non-detected variables ${foreign.join(", ")}`);
  }
  if (mutable) {
    const mutableSpecs = ctx.spec.variables.filter((v) => v.source === "settable" || v.source === "derived");
    const given = new Map(ctx.userDataEnv);
    const wrong: string[] = [];
    for (const variable of mutableSpecs) {
      const expected = given.get(variable.name) ?? variable.default;
      if (expected !== undefined && mutable.get(variable.name) !== expected) wrong.push(`${variable.name}=${JSON.stringify(mutable.get(variable.name))} (expected ${JSON.stringify(expected)})`);
    }
    const foreign = [...mutable.keys()].filter((name) => !mutableSpecs.some((v) => v.name === name));
    if (wrong.length > 0) problems.push(`mutable.env not seeded from user-data.env and defaults: ${wrong.join(", ")}`);
    if (foreign.length > 0) problems.push(`mutable.env has non-mutable variables ${foreign.join(", ")}`);
    seen.push(`mutable.env: ${mutable.size} variables, mode ${snapshot.files[GUEST.mutableEnv]?.mode}`);
  }
  return check(CHECK_NAMES.bootstrap, problems, seen);
}

export function checkServiceEnv(ctx: CheckContext, snapshot: GuestSnapshot): ImageCheck {
  const problems: string[] = [];
  const seen: string[] = [];
  const merged = mergedEnv(snapshot);
  const { running, stopped, foreign } = expectedServices(ctx, snapshot);
  for (const service of running) {
    const file = serviceEnvFile(service.name);
    const info = snapshot.files[file];
    if (!info?.content) {
      problems.push(`${file} is missing`);
      continue;
    }
    const parsed = parseEnvFile(info.content);
    if (parsed.invalid.length > 0) problems.push(`${file} has unparseable lines: ${parsed.invalid.join(" | ").slice(0, 200)}`);
    if (parsed.names.join(",") !== service.variables.join(",")) problems.push(`${file} has [${parsed.names.join(",")}], expected [${service.variables.join(",")}]`);
    const wrong = service.variables.filter((name) => (parsed.values.get(name) ?? "") !== (merged.get(name) ?? ""));
    if (wrong.length > 0) problems.push(`${file}: ${wrong.map((n) => `${n}=${JSON.stringify(parsed.values.get(n))} (expected ${JSON.stringify(merged.get(n) ?? "")})`).join(", ")}`);
    const secrets = service.variables.filter(isSecretVariable);
    if (secrets.length > 0 && info.mode !== "0600") problems.push(`${file} holds ${secrets.join(", ")} but has mode ${info.mode}`);
    if (info.uid !== 0) problems.push(`${file} is owned by uid ${info.uid}, expected root`);
    seen.push(`${service.name}.env ${info.mode} ${parsed.names.length} vars${secrets.length > 0 ? " (secret)" : ""}`);
  }
  for (const service of [...stopped, ...foreign]) {
    if (snapshot.files[serviceEnvFile(service.name)]) problems.push(`${serviceEnvFile(service.name)} exists but ${service.name} does not apply to this VM`);
  }
  return check(CHECK_NAMES.serviceEnv, problems, seen);
}

export function checkServices(ctx: CheckContext, snapshot: GuestSnapshot): ImageCheck {
  const problems: string[] = [];
  const seen: string[] = [];
  const { running, stopped, foreign } = expectedServices(ctx, snapshot);
  for (const service of running) {
    const unit = snapshot.units[unitOf(service.name)] ?? {};
    const state = `${unit.ActiveState ?? "?"}/${unit.SubState ?? "?"}`;
    if (unit.ActiveState !== "active" || unit.SubState !== "running") problems.push(`${service.name} is ${state}, expected active/running`);
    const args = fileContent(snapshot, `${GUEST.standinDir}/${service.name}.args`);
    if (args === undefined) problems.push(`${service.name}: its binary recorded no start (${GUEST.standinDir}/${service.name}.args)`);
    seen.push(`${service.name} ${state}${args ? ` [${args.trim().split("\n").slice(0, 4).join(" ")}]` : ""}`);
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

/** The services that must restart when `names` change: those that apply and use one of them. */
export function servicesUsing(ctx: CheckContext, snapshot: GuestSnapshot, names: readonly string[]): string[] {
  return expectedServices(ctx, snapshot)
    .running.filter((s) => s.variables.some((v) => names.includes(v)))
    .map((s) => s.name)
    .sort();
}

function ownUnits(ctx: CheckContext): string[] {
  return servicesOfKind(ctx.spec, ctx.kind).map((s) => unitOf(s.name));
}

export function checkLiveUpdate(ctx: CheckContext, before: GuestSnapshot, after: GuestSnapshot, delivered: ReadonlyArray<readonly [string, string]>): ImageCheck {
  const problems: string[] = [];
  const seen: string[] = [];
  const names = delivered.map(([name]) => name);
  const expected = servicesUsing(ctx, before, names);
  const restarted = restartedUnits(before, after, ownUnits(ctx)).map((u) => u.replace(/\.service$/, "")).sort();
  seen.push(`delivered ${delivered.map(([k, v]) => `${k}=${v}`).join(" ")}`, `restarted [${restarted.join(", ")}]`, `expected [${expected.join(", ")}]`);
  if (restarted.join(",") !== expected.join(",")) problems.push(`restarted [${restarted.join(", ")}], expected exactly [${expected.join(", ")}]`);
  const mutable = envOf(after, GUEST.mutableEnv);
  for (const [name, value] of delivered) {
    if (mutable?.get(name) !== value) problems.push(`mutable.env has ${name}=${JSON.stringify(mutable?.get(name))}, expected ${JSON.stringify(value)}`);
  }
  for (const service of expected) {
    const env = envOf(after, serviceEnvFile(service));
    const stale = delivered.filter(([name, value]) => ctx.spec.services.find((s) => s.name === service)?.variables.includes(name) && env?.get(name) !== value);
    if (stale.length > 0) problems.push(`${service}.env still has old ${stale.map(([n]) => n).join(", ")}`);
  }
  const untouched = expectedServices(ctx, before).running.filter((s) => !expected.includes(s.name));
  const changed = untouched.filter((s) => fileContent(before, serviceEnvFile(s.name)) !== fileContent(after, serviceEnvFile(s.name))).map((s) => s.name);
  if (changed.length > 0) problems.push(`env files changed for services that do not use the delivered variables: ${changed.join(", ")}`);
  const down = expected.filter((s) => after.units[unitOf(s)]?.ActiveState !== "active");
  if (down.length > 0) problems.push(`not active after the update: ${down.join(", ")}`);
  return check(CHECK_NAMES.liveUpdate, problems, seen);
}

/** One invalid delivery: compared with the snapshot just before it. */
export function checkInvalidUpdate(ctx: CheckContext, before: GuestSnapshot, after: GuestSnapshot): ImageCheck {
  const problems: string[] = [];
  const seen: string[] = [];
  if (fileContent(before, GUEST.mutableEnv) !== fileContent(after, GUEST.mutableEnv)) problems.push("mutable.env changed");
  else seen.push("mutable.env byte-for-byte unchanged");
  const envFiles = Object.keys(after.files).filter((f) => f.startsWith(`${GUEST.serviceEnvDir}/`));
  const changed = envFiles.filter((f) => fileContent(before, f) !== fileContent(after, f));
  if (changed.length > 0) problems.push(`env files changed: ${changed.join(", ")}`);
  const restarted = restartedUnits(before, after, ownUnits(ctx));
  if (restarted.length > 0) problems.push(`services restarted: ${restarted.join(", ")}`);
  else seen.push("no service restarted");
  if (after.files[GUEST.injectionMarker]) problems.push(`the injected command ran: ${GUEST.injectionMarker} exists`);
  const previous = new Set(before.journal);
  const logged = after.journal.filter((line) => !previous.has(line) && /reject|refus|invalid|unknown|not allowed|error/i.test(line));
  if (logged.length === 0) problems.push("no rejection was logged to the journal");
  else seen.push(`logged: ${logged.slice(0, 3).map((l) => l.replace(/^\[\s*[\d.]+\]\s*/, "")).join(" | ")}`);
  return check(CHECK_NAMES.invalidUpdate, problems, seen);
}

/** Several labelled results of one named check folded into one (ok only when all are). */
export function foldChecks(name: string, results: ReadonlyArray<{ label: string; check: ImageCheck }>): ImageCheck {
  return {
    name,
    ok: results.length > 0 && results.every((r) => r.check.ok),
    evidence: results.map((r) => `${r.label}: ${r.check.evidence}`).join(" || "),
  };
}

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
  else seen.push("user-data.env, detected.env, mutable.env unchanged (live update kept)");
  const envChanged = Object.keys(before.files)
    .filter((f) => f.startsWith(`${GUEST.serviceEnvDir}/`))
    .filter((f) => fileContent(before, f) !== fileContent(after, f));
  if (envChanged.length > 0) problems.push(`env files differ after the reboot: ${envChanged.join(", ")}`);
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

export function checkNoDownload(snapshots: readonly GuestSnapshot[], mirror: { requests: number; port: number }): ImageCheck {
  const problems: string[] = [];
  const seen: string[] = [];
  if (mirror.requests > 0) problems.push(`the loopback mirror on 127.0.0.1:${mirror.port} got ${mirror.requests} requests`);
  else seen.push(`loopback mirror on 127.0.0.1:${mirror.port}: 0 requests`);
  for (const snapshot of snapshots) {
    if (snapshot.connect === "connected") problems.push(`the VM reached 10.0.2.2:${mirror.port}`);
    if (snapshot.dpkgSinceBoot.length > 0) problems.push(`dpkg installed at boot: ${snapshot.dpkgSinceBoot[0]}`);
  }
  const probe = snapshots.find((s) => s.connect !== null)?.connect;
  if (probe) seen.push(`VM → host 10.0.2.2:${mirror.port}: ${probe}`);
  seen.push("no dpkg install or upgrade since boot");
  return check(CHECK_NAMES.noDownload, problems, seen);
}
