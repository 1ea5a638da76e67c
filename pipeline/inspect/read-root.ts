// What an image's root file system holds: the installed manifest, the files it lists, the
// Debian packages, the units and whether they are enabled, and hygiene findings (the rules of
// packer/scripts/validate-image.sh, run against the mounted root).
import { lstat, readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { WorkError } from "../errors/index.js";
import { BUILD_HOSTNAME, BUILD_USER, PROVISIONER_SCRIPTS_DIR } from "../packer/index.js";
import { parseControlFile } from "../deb822/index.js";

export interface InstalledManifest {
  kind: string;
  artifacts: { name: string; version: string; digest: string; paths: string[] }[];
  units: string[];
  /** The container images install.sh imported into containerd's content store (namespace k8s.io). */
  images?: { image: string; platform: string; index: string; digest: string }[];
}

export interface FileCheck {
  path: string;
  present: boolean;
  executable: boolean;
  size: number;
}

export interface UnitCheck {
  name: string;
  present: boolean;
  enabled: boolean;
  /** The *.wants directories that hold a link to it. */
  wantedBy: string[];
  /** Enabled at bake time (install.sh), or only at run time when `condition` holds. */
  expectEnabled: boolean;
  condition?: string;
}

export interface InspectReport {
  image: string;
  os: string;
  kernels: string[];
  installed: InstalledManifest | null;
  artifacts: { name: string; version: string; digest: string; files: FileCheck[]; package?: string | null }[];
  units: UnitCheck[];
  hygiene: { ok: boolean; findings: string[] };
  ok: boolean;
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch {
    return undefined;
  }
}

async function checkFile(root: string, file: string): Promise<FileCheck> {
  try {
    const info = await stat(path.join(root, file));
    return { path: file, present: true, executable: (info.mode & 0o111) !== 0, size: info.size };
  } catch {
    return { path: file, present: false, executable: false, size: 0 };
  }
}

/** Package → version from /var/lib/dpkg/status (installed ones only). */
export function parseDpkgStatus(text: string): Map<string, string> {
  const packages = new Map<string, string>();
  for (const fields of parseControlFile(text)) {
    const name = fields.get("package");
    const version = fields.get("version");
    if (name && version && fields.get("status")?.endsWith(" installed")) packages.set(name, version);
  }
  return packages;
}

const UNIT_DIRS = ["etc/systemd/system", "usr/lib/systemd/system", "lib/systemd/system"];

/** Units install.sh enables at bake time, and the run-time condition of the others, from the
 * image's own /opt/podplane/share/services.tsv (service, kinds, when, variables). */
export function unitExpectations(servicesTsv: string, kind: string): Map<string, string | undefined> {
  const expected = new Map<string, string | undefined>([
    ["podplane-configure.service", undefined],
    ["nstance-recv-watch.path", undefined],
    ["nstance-recv-watch.service", "triggered by nstance-recv-watch.path"],
    // The helper room every kind gets: its timer is enabled, the service runs from the timer
    // (and before each start of the API clients, their Wants=).
    ["hosts-refresh.timer", undefined],
    ["hosts-refresh.service", "triggered by hosts-refresh.timer"],
  ]);
  for (const line of servicesTsv.split("\n")) {
    if (line.startsWith("#") || !line.trim()) continue;
    const [service, kinds, when] = line.split("\t");
    if (!service || !kinds?.split(",").includes(kind)) continue;
    expected.set(`${service}.service`, when === "always" ? undefined : when);
  }
  return expected;
}

async function checkUnit(root: string, unit: string, condition: string | undefined): Promise<UnitCheck> {
  let present = false;
  for (const dir of UNIT_DIRS) {
    if (await lstat(path.join(root, dir, unit)).then(() => true, () => false)) present = true;
  }
  const wantedBy: string[] = [];
  const etc = path.join(root, "etc/systemd/system");
  for (const entry of await readdir(etc).catch(() => [] as string[])) {
    if (!/\.(wants|requires)$/.test(entry)) continue;
    if (await lstat(path.join(etc, entry, unit)).then(() => true, () => false)) wantedBy.push(entry);
  }
  return { name: unit, present, enabled: wantedBy.length > 0, wantedBy, expectEnabled: condition === undefined, ...(condition ? { condition } : {}) };
}

/**
 * The rules of validate-image.sh against a mounted root. A qcow2 is a qemu image: built by the
 * user `packer` on the host `podplane-bake`, cloud-init limited to NoCloud. Its exit status
 * counts: 0 must say "clean", 1 must name findings; anything else is a failure of the check.
 */
export async function hygieneFindings(root: string, options: { buildUser?: string; buildHostname?: string; datasources?: string; signal?: AbortSignal | undefined; script?: string } = {}): Promise<string[]> {
  const script = options.script ?? path.join(PROVISIONER_SCRIPTS_DIR, "validate-image.sh");
  const result = await execa("bash", [script], {
    env: { PODPLANE_ROOT: root, BUILD_USER: options.buildUser ?? BUILD_USER, BUILD_HOSTNAME: options.buildHostname ?? BUILD_HOSTNAME, DATASOURCES: options.datasources ?? "NoCloud, None" },
    reject: false,
    stdin: "ignore",
    cancelSignal: options.signal,
  });
  if (result.isCanceled) throw new WorkError("ECANCELED", "the hygiene check was cancelled", { root });
  const lines = result.stderr
    .split("\n")
    .map((l) => l.replace(/^validate-image: /, "").trim())
    .filter(Boolean);
  const findings = lines.filter((l) => l !== "clean" && !/^\d+ finding\(s\)/.test(l));
  if (result.exitCode === 0 && lines.includes("clean") && findings.length === 0) return [];
  if (result.exitCode === 1 && findings.length > 0) return findings;
  const how = result.signal ? `was killed by ${result.signal}` : `exited with ${String(result.exitCode)}`;
  throw new WorkError("EINSPECT", `validate-image.sh ${how} without a verdict: ${lines.slice(-3).join(" | ") || "no output"}`, { root, exitCode: result.exitCode, signal: result.signal });
}

export async function inspectRoot(root: string, image: string, signal?: AbortSignal): Promise<InspectReport> {
  const osRelease = (await readText(path.join(root, "etc/os-release"))) ?? "";
  const os = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1] ?? "unknown";
  const kernels = (await readdir(path.join(root, "boot")).catch(() => [] as string[])).filter((f) => f.startsWith("vmlinuz-")).map((f) => f.slice("vmlinuz-".length));
  const installedText = await readText(path.join(root, "opt/podplane/share/installed.json"));
  let installed: InstalledManifest | null = null;
  if (installedText) {
    try {
      installed = JSON.parse(installedText) as InstalledManifest;
    } catch {
      installed = null;
    }
  }
  const dpkg = parseDpkgStatus((await readText(path.join(root, "var/lib/dpkg/status"))) ?? "");
  const artifacts = [];
  for (const a of installed?.artifacts ?? []) {
    const files = await Promise.all(a.paths.map((p) => checkFile(root, p)));
    artifacts.push({ name: a.name, version: a.version, digest: a.digest, files, ...(dpkg.has(a.name) || files.length === 0 ? { package: dpkg.get(a.name) ?? null } : {}) });
  }
  const expectations = unitExpectations((await readText(path.join(root, "opt/podplane/share/services.tsv"))) ?? "", installed?.kind ?? "");
  const units = await Promise.all((installed?.units ?? []).map((u) => checkUnit(root, u, expectations.get(u))));
  const findings = await hygieneFindings(root, { signal });
  const complete = artifacts.every((a) => a.files.every((f) => f.present) && a.package !== null) && units.every((u) => u.present && (u.enabled || !u.expectEnabled));
  return { image, os, kernels, installed, artifacts, units, hygiene: { ok: findings.length === 0, findings }, ok: installed !== null && complete && findings.length === 0 };
}
