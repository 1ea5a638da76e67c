// Boot benchmark: today's boot-time install on the plain base image vs the baked image with the
// slim user-data, same machine, same run, same stand-ins padded like the real knc set.
//
//   npm run build && npx vite-node bench/boot.bench.ts [-- --baked IMAGE] [--base IMAGE] [--pad BYTES] [--work DIR]
//
// Without --baked it bakes one with the CLI (`build --base debootstrap`) from the padded mirror.
// Writes <work>/boot-results.json and prints a Markdown table for BENCHMARKS.md.
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { execa } from "execa";
import { buildDebootstrapBase } from "../pipeline/base/index.js";
import { startTestVm } from "../pipeline/boot/session.js";
import { waitForSsh } from "../pipeline/boot/ssh.js";
import { testUserDataEnv } from "../pipeline/boot/test-env.js";
import { loadVmconfigSpec, serviceApplies, servicesOfKind } from "../pipeline/boot/vmconfig-spec.js";
import { defaultCacheDir, PROJECT_ROOT } from "../pipeline/cli/options.js";
import { loadManifests } from "../pipeline/manifest/index.js";
import { renderUserData } from "../pipeline/userdata/index.js";
import { packVmconfig } from "../pipeline/vmconfig/index.js";
import { generateStandinMirror } from "../test/fixtures/standins/index.js";
import { bootPhases, type BootPhases, type GuestTimings } from "./boot-phases.js";
import { guestMirrorForward, renderBootTimeInstall } from "./boot-time-install.js";
import { serveDirectory } from "./boot-mirror-server.js";

const KIND = "knc";
const REAL_KNC_BYTES = 530_000_000;

const { values: args } = parseArgs({
  options: {
    baked: { type: "string" },
    base: { type: "string" },
    pad: { type: "string", default: String(REAL_KNC_BYTES) },
    work: { type: "string", default: path.join(PROJECT_ROOT, ".cache", "bench-boot") },
  },
});

function log(line: string): void {
  process.stderr.write(`bench boot: ${line}\n`);
}

interface BootRun {
  label: string;
  image: string;
  phases: BootPhases;
  timings: GuestTimings;
  /** VM seconds of a second configure.sh run with unchanged inputs (nothing to write or restart). */
  configureRerun: number;
  serialLog: string;
}

/** Times a run of configure.sh in the guest by the guest's monotonic clock. */
const RERUN_CONFIGURE = `s=$(cut -d' ' -f1 /proc/uptime); sudo -n /opt/podplane/bin/configure.sh >/dev/null 2>&1; e=$(cut -d' ' -f1 /proc/uptime); echo "$s $e"`;

async function measureBoot(label: string, options: { image: string; userData: string; dir: string; services: string[]; guestForwards?: string[] }): Promise<BootRun> {
  await rm(options.dir, { recursive: true, force: true });
  await mkdir(options.dir, { recursive: true });
  log(`${label}: booting ${options.image}`);
  const session = await startTestVm({ image: options.image, userData: options.userData, workDir: options.dir, accel: "tcg", hostname: `bench-${label}`, guestForwards: options.guestForwards });
  const { vm, ssh } = session;
  try {
    await waitForSsh(ssh, { timeoutMs: 600_000, alive: () => vm.isRunning(), describeDeath: () => vm.exited });
    await ssh.run("sudo -n timeout 900 cloud-init status --wait; timeout 300 systemctl is-system-running --wait", { timeoutMs: 1_300_000 });
    const script = await readFile(path.join(import.meta.dirname, "boot-timings.py"), "utf8");
    const units = options.services.map((s) => `${s}.service`);
    const result = await ssh.run(`sudo -n python3 - ${units.join(",")}`, { input: script });
    if (result.exitCode !== 0) throw new Error(`boot-timings.py failed: ${result.stderr}`);
    const timings = JSON.parse(result.stdout) as GuestTimings;
    const phases = bootPhases(vm.serial, timings, units);
    const [rerunStart = 0, rerunEnd = 0] = (await ssh.run(RERUN_CONFIGURE)).stdout.trim().split(" ").map(Number);
    const configureRerun = rerunEnd - rerunStart;
    log(`${label}: user-data at ${phases.userDataStart.toFixed(1)} s, configure done +${phases.userDataToConfigure.toFixed(1)} s, all active +${phases.userDataToActive.toFixed(1)} s`);
    return { label, image: options.image, phases, timings, configureRerun, serialLog: session.logPath };
  } finally {
    await session.close();
  }
}

async function bakedImage(manifestsDir: string, mirrorUrl: string, work: string, cacheDir: string): Promise<string> {
  if (args.baked) return path.resolve(args.baked);
  log("baking knc from the padded mirror with the CLI (build --base debootstrap --skip-test)");
  const out = path.join(work, "out");
  const { stdout } = await execa(
    "node",
    [path.join(PROJECT_ROOT, "bin", "podplane-images.js"), "build", "--kind", KIND, "--arch", "amd64", "--target", "qemu", "--base", "debootstrap", "--manifests", manifestsDir, "--mirror", mirrorUrl, "--cache", cacheDir, "--out", out, "--skip-test", "--json"],
    { stderr: "inherit" },
  );
  const result = JSON.parse(stdout) as { image?: { qemu?: { path?: string } } };
  const image = result.image?.qemu?.path;
  if (!image) throw new Error(`build printed no qemu image path: ${stdout.slice(0, 300)}`);
  return image;
}

const fmt = (n: number): string => n.toFixed(1);

function markdown(install: BootRun, baked: BootRun, setBytes: number): string {
  const a = install.phases;
  const b = baked.phases;
  const rows = [
    ["VM start → user-data start", a.toUserData, b.toUserData],
    ["user-data start → configure done", a.userDataToConfigure, b.userDataToConfigure],
    ["user-data start → all services active", a.userDataToActive, b.userDataToActive],
    ["whole boot (VM start → all services active)", a.whole, b.whole],
  ] as const;
  const lines = [
    `Stand-in set: ${(setBytes / 1e6).toFixed(0)} MB (knc, padded like the real set), TCG, 2 host cores shared.`,
    "",
    "| phase (s) | boot-time install (plain base) | baked + slim user-data | ratio |",
    "|---|---:|---:|---:|",
    ...rows.map(([name, x, y]) => `| ${name} | ${fmt(x)} | ${fmt(y)} | ${(x / y).toFixed(1)}× |`),
    "",
    `configure.sh again with unchanged inputs (VM time): ${fmt(install.configureRerun)} s / ${fmt(baked.configureRerun)} s.`,
    "",
    "Boot-time install, inside the user script (s after user-data start):",
    "",
    ...Object.entries(a.events)
      .filter(([k]) => k.startsWith("bench:"))
      .map(([k, v]) => `- ${k.slice(6)}: ${fmt(v - a.userDataStart)}`),
    "",
    "Serial-log phase marks of the baked boot (host seconds since QEMU start):",
    "",
    "| phase | s | first line |",
    "|---|---:|---|",
    ...b.serialMarks.map((m) => `| ${m.phase} | ${fmt(m.seconds)} | \`${m.line.replace(/\|/g, "\\|")}\` |`),
    "",
    "Guest events of the baked boot (host seconds since QEMU start):",
    "",
    ...Object.entries(b.events).map(([k, v]) => `- ${k}: ${fmt(v)}`),
    "",
    `systemd-analyze (baked): ${baked.timings.systemdAnalyze.split("\n")[0] ?? ""}`,
  ];
  return lines.join("\n");
}

async function main(): Promise<void> {
  const work = path.resolve(args.work);
  await mkdir(work, { recursive: true });
  const padBytes = Number(args.pad);
  log(`generating the knc stand-ins padded to ${padBytes} bytes`);
  const mirror = await generateStandinMirror({ dir: path.join(work, "standins"), kinds: [KIND], arches: ["amd64"], padBytes });
  const setBytes = mirror.artifacts.reduce((sum, a) => sum + a.size, 0);
  await packVmconfig({ outFile: path.join(mirror.mirrorDir, "vmconfig.tar.gz") });
  const server = await serveDirectory(mirror.mirrorDir);
  try {
    const [manifest] = await loadManifests(mirror.manifestsDir, { kinds: [KIND], arches: ["amd64"] });
    if (!manifest) throw new Error("no knc manifest in the stand-in mirror");
    const cacheDir = process.env.PODPLANE_IMAGES_CACHE ? defaultCacheDir() : path.join(work, "cache");
    const base = args.base ? path.resolve(args.base) : (await buildDebootstrapBase({ cacheDir, arch: "amd64" })).path;
    const baked = await bakedImage(mirror.manifestsDir, server.url, work, cacheDir);
    const env = testUserDataEnv(KIND, "qemu");
    const spec = loadVmconfigSpec();
    const services = servicesOfKind(spec, KIND)
      .filter((s) => serviceApplies(s, new Map(env)))
      .map((s) => s.name);
    const slim = renderUserData({ kind: KIND, format: "script", env });
    const install = await measureBoot("install", {
      image: base,
      userData: renderBootTimeInstall({ manifest, slimUserData: slim }),
      dir: path.join(work, "install"),
      services,
      guestForwards: [guestMirrorForward(server.port)],
    });
    const bakedRun = await measureBoot("baked", { image: baked, userData: slim, dir: path.join(work, "baked"), services });
    const table = markdown(install, bakedRun, setBytes);
    await writeFile(path.join(work, "boot-results.json"), `${JSON.stringify({ date: new Date().toISOString(), setBytes, mirrorRequests: server.requests(), install, baked: bakedRun }, null, 2)}\n`);
    process.stdout.write(`${table}\n`);
    log(`mirror served ${server.requests()} requests; results in ${path.join(work, "boot-results.json")}`);
  } finally {
    await server.close();
  }
}

await main();
