// Boot-method benchmark (issue 12 item 5): a baked image booted through its firmware and GRUB
// (as test-image does by default) and by direct kernel boot from its images.json boot record (as
// test-image --direct-kernel-boot does), each beside the plain base it was baked from booting a
// user-data that does nothing, in the same run. It reports VM start → user-data start → all
// services active for both baked arms, VM start → cloud-init done for the base, and the ratios:
// what Podplane's services add to a plain boot, and what direct kernel boot saves.
//
//   npm run build && npx vite-node bench/boot-method.ts --image BAKED.qcow2 --kind knd|knc
//     --arch amd64|arm64 --base BASE.qcow2 [--boot-record images.json] [--runs N] [--work DIR]
//     [--accel tcg|kvm]
//
// One VM at a time. Writes <work>/boot-method-results.json after every boot and prints a
// Markdown report for BENCHMARKS.md ("### boot method").
import { access, mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { execa } from "execa";
import { defaultImagesJson, findBootRecord, prepareDirectBoot } from "../pipeline/boot/direct-boot.js";
import { assertEmulator } from "../pipeline/boot/emulator.js";
import { qemuArgs, type DirectBoot } from "../pipeline/boot/qemu.js";
import { bootTimeScale } from "../pipeline/boot/speed.js";
import { TEST_NONCE } from "../pipeline/boot/test-env.js";
import { loadVmconfigSpec } from "../pipeline/boot/vmconfig-spec.js";
import { defaultCacheDir, PROJECT_ROOT } from "../pipeline/cli/options.js";
import type { Arch, Kind } from "../pipeline/manifest/schema.js";
import { renderUserData } from "../pipeline/userdata/index.js";
import { applyingServices, prepareInputs } from "./boot-inputs.js";
import { measureBaked, measureBase, type BakedBoot, type BaseBoot, type MethodContext } from "./boot-method-arms.js";
import { checkBase } from "./boot-method-base.js";
import { armOrder, bakedFigures, type MethodArm, type MethodRun } from "./boot-method-phases.js";
import { methodMarkdown, setupText, summaryRow, SUMMARY_HEADER, type MethodSetup } from "./boot-method-report.js";

const USAGE = `usage: npx vite-node bench/boot-method.ts --image BAKED.qcow2 --kind knd|knc --base BASE.qcow2 [options]   (after npm run build)
Boots a baked image by firmware/GRUB and by direct kernel boot beside its plain base (BENCHMARKS.md "boot method").
  --image IMAGE        the baked qcow2
  --kind knd|knc       its kind
  --arch amd64|arm64   its architecture (default amd64)
  --base IMAGE         the plain base it was baked from (checked against the record's baseImage digest)
  --boot-record FILE   images.json or Podplane manifest with its boot record (default: the build's images.json)
  --runs N             rounds of the three arms (default 3)
  --accel tcg|kvm      QEMU accelerator (default tcg)
  --work DIR           results and scratch (default .cache/bench-boot-method)
`;

const { values: args } = parseArgs({
  options: {
    help: { type: "boolean", short: "h", default: false },
    image: { type: "string" },
    kind: { type: "string" },
    arch: { type: "string", default: "amd64" },
    base: { type: "string" },
    "boot-record": { type: "string" },
    runs: { type: "string", default: "3" },
    accel: { type: "string", default: "tcg" },
    work: { type: "string", default: path.join(PROJECT_ROOT, ".cache", "bench-boot-method") },
  },
});

if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

function log(line: string): void {
  process.stderr.write(`bench boot-method: ${line}\n`);
}

function usage(message: string): never {
  process.stderr.write(`bench boot-method: ${message}\n${USAGE}`);
  process.exit(2);
}

const kind: Kind = args.kind === "knc" || args.kind === "knd" ? args.kind : usage(`--kind must be knc or knd, found ${JSON.stringify(args.kind)}`);
const arch: Arch = args.arch === "amd64" || args.arch === "arm64" ? args.arch : usage(`--arch must be amd64 or arm64, found ${JSON.stringify(args.arch)}`);
const runs = /^[1-9]\d*$/.test(args.runs) ? Number(args.runs) : usage(`--runs must be a positive integer, found ${JSON.stringify(args.runs)}`);
const accel = args.accel === "tcg" || args.accel === "kvm" ? args.accel : usage(`--accel must be tcg or kvm, found ${JSON.stringify(args.accel)}`);
const image = args.image ? path.resolve(args.image) : usage("--image is required");
const base = args.base ? path.resolve(args.base) : usage("--base is required");
const recordFile = args["boot-record"] ? path.resolve(args["boot-record"]) : defaultImagesJson(image);

async function gitCommit(): Promise<string> {
  const head = await execa("git", ["-C", PROJECT_ROOT, "rev-parse", "--short", "HEAD"], { reject: false });
  const dirty = await execa("git", ["-C", PROJECT_ROOT, "status", "--porcelain", "--", "scripts/vmconfig", "pipeline", "bench"], { reject: false });
  return `${head.stdout.trim() || "unknown commit"}${dirty.stdout.trim() ? " (with uncommitted changes)" : ""}`;
}

/** The machine, -accel, -cpu, -smp and -m the VMs get, read from the command line qemu.ts builds. */
function qemuSettings(): MethodSetup["qemu"] {
  const argv = qemuArgs({ arch, overlay: "overlay.qcow2", seedIso: "seed.iso", accel });
  const value = (flag: string): string => (argv.includes(flag) ? (argv[argv.indexOf(flag) + 1] ?? "?") : "");
  const machine = value("-machine");
  return { accel: value("-accel"), cpu: value("-cpu"), cpus: value("-smp"), memoryMiB: value("-m"), machine: machine ? `-machine ${machine} -bios ${value("-bios")}` : "" };
}

async function main(): Promise<void> {
  const work = path.resolve(args.work);
  await mkdir(work, { recursive: true });
  // Bad input is an error before anything boots.
  for (const [flag, file] of [["--image", image], ["--base", base]] as const) {
    await access(file).catch(() => usage(`${flag} ${file}: no such file`));
  }
  await assertEmulator(arch);
  const loadBefore = os.loadavg();
  const record = await findBootRecord(image, recordFile, arch);
  const baseHow = await checkBase(recordFile, image, base);
  log(`base: ${baseHow}`);
  log(`direct kernel boot from ${record.from}: extracting ${record.boot.kernel.path} and ${record.boot.initrd.path} (checked by digest)`);
  const directBoot: DirectBoot = await prepareDirectBoot(image, record.boot, path.join(work, "direct-boot"), { workParent: path.join(work, "tmp") });
  const scale = await bootTimeScale(arch, accel, defaultCacheDir());
  const inputs = await prepareInputs(kind, path.join(work, "inputs"));
  const spec = loadVmconfigSpec();
  const units = applyingServices(spec, kind, [inputs.userDataEnv, inputs.mutableEnv]);
  const slimUserData = renderUserData({ kind, format: "script", env: inputs.userDataEnv, nonce: TEST_NONCE });
  const ctx: MethodContext = { work, arch, accel, scale, inputs, units, slimUserData, checkContext: { kind, spec, userDataEnv: inputs.userDataEnv, userData: slimUserData }, log };
  const setup: MethodSetup = {
    date: new Date().toISOString().replace(/\.\d+Z$/, " UTC").replace("T", " "),
    commit: await gitCommit(),
    arch,
    kind,
    provider: new Map(inputs.userDataEnv).get("PROVIDER_KIND") ?? "?",
    runs,
    order: runs === 1 ? "base, then GRUB, then direct" : "base, GRUB, direct in the first round, rotated by one every round",
    qemu: qemuSettings(),
    host: { cores: os.cpus().length, loadBefore },
    base: { path: base, how: baseHow },
    baked: { path: image, how: `its boot record from ${record.from}` },
    bootRecord: { from: record.from, kernel: record.boot.kernel.path, initrd: record.boot.initrd.path, cmdline: record.boot.cmdline },
    timeScale: scale,
    services: units,
    deliveryFiles: inputs.files.length,
  };
  log(setupText(setup));
  const boots: Array<(BaseBoot | BakedBoot) & { load?: { start: number; end: number } }> = [];
  const complete: MethodRun[] = [];
  const results = path.join(work, "boot-method-results.json");
  const save = (): Promise<void> => writeFile(results, `${JSON.stringify({ setup, runs: complete, boots }, null, 2)}\n`);
  for (let run = 1; run <= runs; run++) {
    const got: Partial<Record<MethodArm, BaseBoot | BakedBoot>> = {};
    const load: Partial<Record<MethodArm, { start: number; end: number }>> = {};
    for (const arm of armOrder(run)) {
      const start = os.loadavg()[0] ?? Number.NaN;
      const boot = arm === "base" ? await measureBase(ctx, base, run) : await measureBaked(ctx, arm, image, run, arm === "direct" ? directBoot : undefined);
      load[arm] = { start, end: os.loadavg()[0] ?? Number.NaN };
      got[arm] = boot;
      boots.push({ ...boot, load: load[arm] });
      // Written after every boot: a run cut short keeps what it measured.
      await save();
    }
    const [b, g, d] = [got.base, got.grub, got.direct];
    if (b?.arm !== "base" || g?.arm !== "grub" || d?.arm !== "direct") throw new Error(`run ${run}: an arm is missing`);
    const [lb, lg, ld] = [load.base, load.grub, load.direct];
    complete.push({ run, base: b.phases, grub: bakedFigures(g.phases), direct: bakedFigures(d.phases), ...(lb && lg && ld ? { load: { base: lb, grub: lg, direct: ld } } : {}) });
    await save();
    log(`after run ${run}:\n${[...SUMMARY_HEADER, summaryRow(arch, kind, complete)].join("\n")}`);
  }
  setup.host.loadAfter = os.loadavg();
  await save();
  process.stdout.write(`${methodMarkdown(setup, complete)}\n`);
  log(`results in ${results}`);
}

await main();
