// Boot benchmark: Podplane's boot-time install on the plain base image vs the baked image with
// the slim user-data, same machine, same inputs, same stand-ins padded like the real set, runs
// alternating. Both arms boot the way the boot test does (pipeline/boot): Podplane-format
// user-data.env, a registration nonce, Nstance's addresses reached through guest forwards to
// loopback listeners, then one Nstance delivery. Any failed step fails the benchmark.
//
//   npm run build && npx vite-node bench/boot.bench.ts [--runs N] [--kind knc|knd] [--accel tcg|kvm]
//     [--baked IMAGE] [--base IMAGE] [--pad BYTES] [--cache DIR] [--work DIR]
//     [--arms install,baked] [--trace-rerun] [--trace-delivery]
//
// --arms baked (or install) boots one arm only and prints its figures without ratios (for aiming a
// cut, never for the headline); --trace-rerun also runs configure.sh once more under `bash -x`
// with a microsecond clock in PS4 and keeps the trace in <work>/<arm>-<run>/rerun-trace.txt;
// --trace-delivery traces the delivery's watcher and the scripts it runs (kept in
// <work>/<arm>-<run>/delivery-trace.txt, the time per script and function printed): the trace
// slows the delivery it traces, so that run's delivery figures aim a cut and measure nothing.
//
// Without --baked it bakes one with the CLI (`build --base debootstrap --skip-test`) from the
// padded mirror; without --base it takes the debootstrap base from the cache (built if missing).
// Writes <work>/boot-results.json and prints a Markdown report for BENCHMARKS.md.
import { mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { execa } from "execa";
import { buildDebootstrapBase, BASE_SUITE } from "../pipeline/base/index.js";
import type { CheckContext } from "../pipeline/boot/checks.js";
import { guestForward, startCountingListener } from "../pipeline/boot/listeners.js";
import { qemuArgs } from "../pipeline/boot/qemu.js";
import { startTestVm } from "../pipeline/boot/session.js";
import { waitForSsh } from "../pipeline/boot/ssh.js";
import { NSTANCE_GUEST, TEST_NONCE } from "../pipeline/boot/test-env.js";
import { loadVmconfigSpec } from "../pipeline/boot/vmconfig-spec.js";
import { defaultCacheDir, PROJECT_ROOT } from "../pipeline/cli/options.js";
import { loadManifests, type Manifest } from "../pipeline/manifest/index.js";
import { serveMirror } from "../pipeline/mirror/index.js";
import { renderUserData } from "../pipeline/userdata/index.js";
import { packVmconfig } from "../pipeline/vmconfig/index.js";
import { generateStandinMirror } from "../test/fixtures/standins/index.js";
import { applyingServices, prepareInputs, type BenchInputs } from "./boot-inputs.js";
import { checkActiveServices, collectTimings, deliver, fetchDeliveryTrace, rerunConfigure, traceDeliveryOn, traceRerun, waitActive, waitForFirstBoot } from "./boot-guest.js";
import { bootPhases } from "./boot-phases.js";
import { profileTable, profileTrace } from "./trace-profile.js";
import { markdown, singleArmText, type ArmRun, type BenchSetup } from "./boot-report.js";
import { DOWNLOAD_PARALLEL, GUEST_MIRROR, guestMirrorForward, renderBootTimeInstall } from "./boot-time-install.js";
import { restartSummaries, unitBreakdown } from "./boot-units.js";
import { formatTimings } from "./configure-timings.js";

const REAL_KNC_BYTES = 530_000_000;
const SSH_TIMEOUT_MS = 600_000;

const USAGE = `usage: npx vite-node bench/boot.bench.ts [options]   (after npm run build)
Boots a baked image and the plain base with boot-time install side by side (BENCHMARKS.md "boot").
  --runs N           runs per arm, alternating (default 3)
  --arms A[,B]       install, baked, or both in the order given (default install,baked)
  --kind knc|knd     image kind (default knc)
  --baked IMAGE      a baked qcow2 (default: bake one with build --base debootstrap)
  --base IMAGE       the plain base qcow2 (default: the debootstrap base from --cache)
  --pad BYTES        stand-in padding for the bake and the install arm's mirror (default ${REAL_KNC_BYTES})
  --accel tcg|kvm    QEMU accelerator (default tcg)
  --cache DIR        artifact cache (default $PODPLANE_IMAGES_CACHE or ~/.cache/podplane-images)
  --work DIR         results and scratch (default .cache/bench-boot)
  --trace-rerun      keep a bash -x trace of one more no-op configure.sh run
  --trace-delivery   trace the delivery's scripts and print where their time went (slows the
                     delivery: its figures then aim a cut, they measure nothing)
`;

const { values: args } = parseArgs({
  options: {
    help: { type: "boolean", short: "h", default: false },
    baked: { type: "string" },
    base: { type: "string" },
    kind: { type: "string", default: "knc" },
    runs: { type: "string", default: "3" },
    arms: { type: "string", default: "install,baked" },
    "trace-rerun": { type: "boolean", default: false },
    "trace-delivery": { type: "boolean", default: false },
    accel: { type: "string", default: "tcg" },
    pad: { type: "string", default: String(REAL_KNC_BYTES) },
    cache: { type: "string" },
    work: { type: "string", default: path.join(PROJECT_ROOT, ".cache", "bench-boot") },
  },
});

if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

function log(line: string): void {
  process.stderr.write(`bench boot: ${line}\n`);
}

function usage(message: string): never {
  process.stderr.write(`bench boot: ${message}\n`);
  process.exit(2);
}

const kind = args.kind === "knc" || args.kind === "knd" ? args.kind : usage(`--kind must be knc or knd, found ${JSON.stringify(args.kind)}`);
const runs = /^[1-9]\d*$/.test(args.runs) ? Number(args.runs) : usage(`--runs must be a positive integer, found ${JSON.stringify(args.runs)}`);
const accel = args.accel === "tcg" || args.accel === "kvm" ? args.accel : usage(`--accel must be tcg or kvm, found ${JSON.stringify(args.accel)}`);
const armNames = args.arms.split(",");
if (armNames.length === 0 || armNames.some((a) => a !== "install" && a !== "baked")) usage(`--arms must list install and/or baked, found ${JSON.stringify(args.arms)}`);
const padBytes = /^\d+$/.test(args.pad) ? Number(args.pad) : usage(`--pad must be a byte count, found ${JSON.stringify(args.pad)}`);

interface Arm {
  arm: ArmRun["arm"];
  image: string;
  userData: string;
  /** Forwards besides Nstance's two (the mirror, for the boot-time install). */
  extraForwards: string[];
}

interface Context {
  work: string;
  inputs: BenchInputs;
  units: string[];
  checkContext: (userData: string) => CheckContext;
  mirrorGets: () => number;
}

async function measureBoot(ctx: Context, arm: Arm, run: number): Promise<ArmRun> {
  const label = `${arm.arm} run ${run}/${runs}`;
  const dir = path.join(ctx.work, `${arm.arm}-${run}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const registration = await startCountingListener();
  const agent = await startCountingListener();
  const getsBefore = ctx.mirrorGets();
  log(`${label}: booting ${arm.image}`);
  try {
    const session = await startTestVm({
      image: arm.image,
      userData: arm.userData,
      workDir: dir,
      accel,
      hostname: `bench-${arm.arm}`,
      guestForwards: [guestForward(NSTANCE_GUEST.host, NSTANCE_GUEST.registrationPort, registration.port), guestForward(NSTANCE_GUEST.host, NSTANCE_GUEST.agentPort, agent.port), ...arm.extraForwards],
    });
    const { vm, ssh } = session;
    const step = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
      try {
        return await work();
      } catch (error) {
        throw new Error(`${label}: ${what}: ${error instanceof Error ? error.message : String(error)} (serial log ${session.logPath})`, { cause: error });
      }
    };
    try {
      await step("waiting for ssh", () => waitForSsh(ssh, { timeoutMs: SSH_TIMEOUT_MS, alive: () => vm.isRunning(), describeDeath: () => vm.exited }));
      await step("first boot", () => waitForFirstBoot(ssh));
      if (registration.connections() === 0) throw new Error(`${label}: the user-data finished without reaching the registration listener`);
      log(`${label}: user-data done; delivering ${ctx.inputs.files.length} files`);
      if (args["trace-delivery"]) await step("delivery trace", () => traceDeliveryOn(ssh));
      await step("delivery", () => deliver(ssh, ctx.inputs.files));
      await step("services", () => waitActive(ssh, ctx.units.map((u) => `${u}.service`)));
      const timings = await step("collecting timings", () => collectTimings(ssh, ctx.units.map((u) => `${u}.service`)));
      const phases = await step("boot phases", () => Promise.resolve().then(() => bootPhases(vm.serial, timings, ctx.units.map((u) => `${u}.service`))));
      await step("services-active check", () => checkActiveServices(ssh, ctx.checkContext(arm.userData)));
      const rerun = await step("configure.sh with unchanged inputs", () => rerunConfigure(ssh));
      if (args["trace-rerun"]) await step("traced rerun", () => traceRerun(ssh, path.join(dir, "rerun-trace.txt")));
      if (args["trace-delivery"]) {
        const trace = await step("delivery trace", () => fetchDeliveryTrace(ssh, path.join(dir, "delivery-trace.txt")));
        log(`${label}: the traced delivery (slowed by its trace), time per script and function:\n${profileTable(profileTrace(trace))}`);
      }
      const guestUserData = phases.userDataStart - phases.kernelAt;
      const guestDelivered = phases.delivered - phases.kernelAt;
      const units = unitBreakdown(timings, ctx.units.map((u) => `${u}.service`), guestUserData, guestDelivered);
      const restarts = restartSummaries(vm.serial, timings.restartLines ?? [], phases.kernelAt);
      log(
        `${label}: user-data at ${phases.userDataStart.toFixed(1)} s, first configure +${phases.userDataToConfigure.toFixed(1)} s [${formatTimings(phases.firstConfigure)}], delivery → all active ${phases.deliveryToActive.toFixed(1)} s; rerun ${rerun.vmSeconds.toFixed(2)} s`,
      );
      return { arm: arm.arm, run, image: arm.image, phases, timings, rerun, serialLog: session.logPath, mirrorGets: ctx.mirrorGets() - getsBefore, units, restartSummaries: restarts };
    } finally {
      await session.close();
    }
  } finally {
    await Promise.all([registration.close(), agent.close()]);
  }
}

async function bakedImage(manifestsDir: string, mirrorUrl: string, work: string, cacheDir: string): Promise<{ path: string; how: string }> {
  if (args.baked) return { path: path.resolve(args.baked), how: "given with --baked" };
  log(`baking ${kind} from the padded mirror with the CLI (build --base debootstrap --skip-test)`);
  const out = path.join(work, "out");
  const result = await execa(
    "node",
    [path.join(PROJECT_ROOT, "bin", "podplane-images.js"), "build", "--kind", kind, "--arch", "amd64", "--target", "qemu", "--base", "debootstrap", "--manifests", manifestsDir, "--mirror", mirrorUrl, "--cache", cacheDir, "--out", out, "--skip-test", "--json"],
    { stderr: "inherit", reject: false },
  );
  if (result.exitCode !== 0) throw new Error(`the bake (build --kind ${kind}) failed with exit ${String(result.exitCode)}`);
  const parsed = (JSON.parse(result.stdout) as { results?: { skipped?: boolean; image?: { qemu?: { path?: string } } }[] }).results?.[0] ?? {};
  const image = parsed.image?.qemu?.path;
  if (!image) throw new Error(`build printed no qemu image path: ${result.stdout.slice(0, 300)}`);
  return { path: image, how: parsed.skipped ? `baked earlier by build into ${out} (same inputs)` : `baked now by build --base debootstrap into ${out}` };
}

async function gitCommit(): Promise<string> {
  const head = await execa("git", ["-C", PROJECT_ROOT, "rev-parse", "--short", "HEAD"], { reject: false });
  const dirty = await execa("git", ["-C", PROJECT_ROOT, "status", "--porcelain", "--", "scripts/vmconfig", "pipeline", "bench"], { reject: false });
  return `${head.stdout.trim() || "unknown commit"}${dirty.stdout.trim() ? " (with uncommitted changes)" : ""}`;
}

/** The -accel, -smp and -m the test VMs get, read from the command line qemu.ts builds. */
function qemuSettings(): BenchSetup["qemu"] {
  const argv = qemuArgs({ arch: "amd64", overlay: "overlay.qcow2", seedIso: "seed.iso", accel });
  const value = (flag: string): string => argv[argv.indexOf(flag) + 1] ?? "?";
  return { accel: value("-accel"), cpus: value("-smp"), memoryMiB: value("-m") };
}

async function main(): Promise<void> {
  const work = path.resolve(args.work);
  const cacheDir = args.cache ? path.resolve(args.cache) : defaultCacheDir();
  await mkdir(work, { recursive: true });
  const loadBefore = os.loadavg();
  log(`generating the ${kind} stand-ins padded to ${padBytes} bytes`);
  const mirror = await generateStandinMirror({ dir: path.join(work, "standins"), kinds: [kind], arches: ["amd64"], padBytes });
  const setBytes = mirror.artifacts.reduce((sum, a) => sum + a.size, 0);
  await packVmconfig({ outFile: path.join(mirror.mirrorDir, "vmconfig.tar.gz") });
  let gets = 0;
  const server = await serveMirror({
    dir: mirror.mirrorDir,
    log: (line) => {
      if (line.startsWith("200 GET")) gets++;
    },
  });
  try {
    const [manifest]: Manifest[] = await loadManifests(mirror.manifestsDir, { kinds: [kind], arches: ["amd64"] });
    if (!manifest) throw new Error(`no ${kind} manifest in the stand-in mirror`);
    const base = args.base
      ? { path: path.resolve(args.base), how: "given with --base" }
      : await buildDebootstrapBase({ cacheDir, arch: "amd64" }).then((b) => ({ path: b.path, how: `the debootstrap base (${BASE_SUITE}), ${b.cacheHit ? "from the cache" : "built now"}` }));
    const baked = await bakedImage(mirror.manifestsDir, server.url, work, cacheDir);
    const inputs = await prepareInputs(kind, path.join(work, "inputs"));
    const spec = loadVmconfigSpec();
    const units = applyingServices(spec, kind, [inputs.userDataEnv, inputs.mutableEnv]);
    const slim = renderUserData({ kind, format: "script", env: inputs.userDataEnv, nonce: TEST_NONCE });
    const allArms: Arm[] = [
      { arm: "install", image: base.path, userData: renderBootTimeInstall({ manifest, slimUserData: slim }), extraForwards: [guestMirrorForward(server.port)] },
      { arm: "baked", image: baked.path, userData: slim, extraForwards: [] },
    ];
    // In the order --arms gives them (a short slot: the baked arm first).
    const arms = armNames.map((name) => allArms.find((a) => a.arm === name) as Arm);
    const ctx: Context = {
      work,
      inputs,
      units,
      checkContext: (userData) => ({ kind, spec, userDataEnv: inputs.userDataEnv, userData }),
      mirrorGets: () => gets,
    };
    const setup: BenchSetup = {
      date: new Date().toISOString().replace(/\.\d+Z$/, " UTC").replace("T", " "),
      commit: await gitCommit(),
      kind,
      arch: "amd64",
      provider: new Map(inputs.userDataEnv).get("PROVIDER_KIND") ?? "?",
      runs,
      padBytes,
      setBytes,
      artifactCount: mirror.artifacts.length,
      qemu: qemuSettings(),
      host: { cores: os.cpus().length, loadBefore },
      base,
      baked,
      services: units,
      deliveryFiles: inputs.files.length,
      downloadParallel: DOWNLOAD_PARALLEL,
      mirrorGuest: `${GUEST_MIRROR.host}:${GUEST_MIRROR.port}`,
    };
    const results: ArmRun[] = [];
    for (let run = 1; run <= runs; run++) {
      for (const arm of arms) {
        const result = await measureBoot(ctx, arm, run);
        if (arm.arm === "install" && result.mirrorGets === 0) throw new Error(`install run ${run}: the mirror served nothing: the boot-time install downloaded nothing`);
        results.push(result);
        // Written after every boot: a run cut short keeps what it measured.
        await writeFile(path.join(work, "boot-results.json"), `${JSON.stringify({ setup, runs: results }, null, 2)}\n`);
        process.stderr.write(`${singleArmText(setup, [result])}\n`);
      }
    }
    setup.host.loadAfter = os.loadavg();
    const report =
      new Set(armNames).size === 2
        ? markdown(
            setup,
            results.filter((r) => r.arm === "install"),
            results.filter((r) => r.arm === "baked"),
          )
        : singleArmText(setup, results);
    await writeFile(path.join(work, "boot-results.json"), `${JSON.stringify({ setup, runs: results }, null, 2)}\n`);
    process.stdout.write(`${report}\n`);
    log(`results in ${path.join(work, "boot-results.json")}`);
  } finally {
    await server.close();
  }
}

await main();
