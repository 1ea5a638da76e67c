// `build`: bake one image per kind × arch × target and publish it to images.json.
import { rm, rmdir } from "node:fs/promises";
import path from "node:path";
import { Listr } from "listr2";
import { Option, type Command } from "commander";
import { testImage } from "../boot/index.js";
import { DEFAULT_MANIFESTS_DIR, parseArch, parseKind } from "../cli/options.js";
import { formatBytes, printJson, printLine } from "../cli/output.js";
import { UsageError, WorkError } from "../errors/index.js";
import type { FetchSummary } from "../fetch/index.js";
import {
  baseImagePath,
  bakePaths,
  existingImage,
  imageRecord,
  resolveBase,
  untested,
  resolveIdentity,
  runPackerBake,
  stageFor,
  type BakeSettings,
  type BaseKind,
  type Identity,
  type PackerResult,
} from "../image/bake.js";
import { loadManifests, type Arch, type Kind } from "../manifest/index.js";
import type { Target } from "../packer/index.js";
import { taskListOptions, usePlainProgress, withInterrupts } from "../progress/index.js";
import { describeTest, isBootTested, publishImage, type ImageRecord, type ImageTestRecord } from "../publish/index.js";
import { EXIT_CODES_HELP, addCacheOption, addMirrorOption, fetchWithProgress } from "./fetch.js";

export interface BuildFlags {
  kind: Kind;
  arch: Arch;
  target: Target;
  base: BaseKind;
  manifests: string;
  mirror?: string;
  cache: string;
  out: string;
  force?: boolean;
  skipTest?: boolean;
  allowUntested?: boolean;
  json?: boolean;
  region: string;
  amiRegions?: string[];
  amiUsers?: string[];
  amiGroups?: string[];
  kmsKeyId?: string;
}

/** What a build may replace in tests: the boot test (the fake-packer tests inject one). */
export interface BuildDeps {
  testImage: typeof testImage;
}

interface BuildOutcome {
  skipped: boolean;
  /** The image was already built; this run boot-tested it (it had been baked with --skip-test). */
  tested: boolean;
  record: ImageRecord;
  imagesFile: string;
  logPath?: string;
  seconds: number;
  steps: Record<string, number>;
}

function list(value: string): string[] {
  return value.split(",").map((v) => v.trim()).filter(Boolean);
}

function describeAmis(amis: Record<string, string> | undefined): string {
  return Object.entries(amis ?? {}).map(([region, ami]) => `${region}:${ami}`).join(", ");
}

function describeRecord(record: ImageRecord): string {
  if (record.qemu) return `${record.qemu.path} (${record.qemu.digest.slice(0, 19)}…, ${formatBytes(record.size)})`;
  return describeAmis(record.amis);
}

/** The packed vmconfig and, when no other build is using it, the scratch directory. */
async function removeScratch(outDir: string, identity: Identity): Promise<void> {
  await rm(identity.vmconfig.path, { force: true });
  for (const dir of [path.dirname(identity.vmconfig.path), path.join(outDir, ".work")]) await rmdir(dir).catch(() => undefined);
}

/** Boots the image; the result as images.json keeps it. A failed test is an ETEST error carrying that record. */
async function bootTest(deps: BuildDeps, image: string, kind: Kind, arch: Arch, testDir: string, signal: AbortSignal): Promise<ImageTestRecord> {
  const report = await deps.testImage({ image, kind, arch, workDir: testDir, signal });
  const test: ImageTestRecord = {
    tested: true,
    ok: report.ok,
    at: new Date().toISOString(),
    checks: report.checks.map((c) => ({ name: c.name, ok: c.ok })),
    seconds: Math.round(report.seconds * 10) / 10,
    logPath: report.logPath,
  };
  if (!report.ok) {
    const failed = report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.evidence}`);
    throw new WorkError("ETEST", `the boot test of ${image} failed:\n  ${failed.join("\n  ")}`, { image, failed, test }, { logPath: report.logPath });
  }
  return test;
}

export async function runBuild(flags: BuildFlags, signal: AbortSignal, deps: BuildDeps = { testImage }): Promise<BuildOutcome> {
  const started = Date.now();
  const steps: Record<string, number> = {};
  const timed = async <T>(step: string, work: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    try {
      return await work();
    } finally {
      steps[step] = (Date.now() - t) / 1000;
    }
  };
  const [manifest] = await loadManifests(flags.manifests, { kinds: [flags.kind], arches: [flags.arch] });
  if (!manifest) throw new UsageError(`${flags.manifests}: no manifest for ${flags.kind} ${flags.arch}`, "EMANIFEST");
  const settings: BakeSettings = {
    manifest,
    target: flags.target,
    base: flags.base,
    outDir: flags.out,
    cacheDir: flags.cache,
    signal,
    packerBin: process.env.PODPLANE_PACKER ?? "packer",
    aws: { region: flags.region, amiRegions: flags.amiRegions, amiUsers: flags.amiUsers, amiGroups: flags.amiGroups, kmsKeyId: flags.kmsKeyId },
  };
  const plain = usePlainProgress({ plain: Boolean(flags.json) });

  // Identity first: it is all that a no-op needs, and it is fast once the base is cached.
  let identity!: Identity;
  await new Listr(
    [
      {
        title: `base image (${flags.target === "aws" ? "official Debian AMI" : flags.base})`,
        task: async (_ctx, task) => {
          const base = await timed("base", () => resolveBase(settings, (line) => (task.output = line)));
          task.title = `base image: ${base.source}${base.cacheHit === true ? " (cached)" : ""}`;
          identity = await resolveIdentity(settings, base);
        },
      },
    ],
    taskListOptions({ plain }),
  ).run();

  const existing = flags.force ? undefined : await existingImage(flags.out, identity, flags.target);
  const imagesFile = path.join(flags.out, "images.json");
  if (existing) {
    await removeScratch(flags.out, identity);
    // Built, but never booted (baked with --skip-test, or recorded before test status was kept):
    // boot it now rather than pass it off as done.
    if (existing.target === "qemu" && existing.qemu && !isBootTested(existing) && !flags.skipTest) {
      const testDir = path.join(flags.out, "logs", `${existing.name}.test`);
      let test: ImageTestRecord;
      try {
        test = await timed("test", () => bootTest(deps, existing.qemu?.path ?? "", manifest.kind, manifest.arch, testDir, signal));
      } catch (error) {
        const failed = error instanceof WorkError ? (error.data.test as ImageTestRecord | undefined) : undefined;
        // The image is published already: its record now says the test failed.
        if (failed) await publishImage(flags.out, { ...existing, test: failed }, { allowUntested: flags.allowUntested });
        throw error;
      }
      const record = { ...existing, test };
      await publishImage(flags.out, record, { allowUntested: flags.allowUntested });
      return { skipped: true, tested: true, record, imagesFile, seconds: (Date.now() - started) / 1000, steps };
    }
    return { skipped: true, tested: false, record: existing, imagesFile, seconds: (Date.now() - started) / 1000, steps };
  }

  const paths = bakePaths(flags.out, identity.name);
  let fetched!: FetchSummary;
  let result!: PackerResult;
  let test: ImageTestRecord = untested(flags.target, flags.skipTest === true);
  try {
    fetched = await timed("fetch", () =>
      fetchWithProgress([manifest], { kind: [flags.kind], arch: [flags.arch], manifests: flags.manifests, cache: flags.cache, mirror: flags.mirror, concurrency: 8, baseImage: flags.target === "qemu" && flags.base === "cloud", json: flags.json }, signal),
    );
    await new Listr(
      [
        {
          title: `stage ${manifest.kind} ${manifest.arch}`,
          task: async (_ctx, task) => {
            const stage = await timed("stage", () => stageFor(settings, identity, fetched.artifacts));
            task.title = `staged ${stage.artifacts.length} artifacts (${formatBytes(stage.bytes)}) + vmconfig in ${stage.dir}`;
          },
        },
        {
          title: `packer build ${identity.name} (${flags.target})`,
          task: async (_ctx, task) => {
            result = await timed("packer", () =>
              runPackerBake(settings, identity, baseImagePath(settings, identity, fetched.artifacts), (progress) => {
                task.output = progress.text.split("\n")[0] ?? "";
              }),
            );
            task.title = `packer build ${identity.name}: ${result.qemu ? formatBytes(result.qemu.size) : describeAmis(result.amis)} in ${result.seconds.toFixed(0)} s${result.accelerator ? ` (${result.accelerator})` : ""}`;
          },
          rendererOptions: { persistentOutput: false, outputBar: 1 },
        },
        {
          title: "boot test",
          skip: () => flags.skipTest === true || flags.target !== "qemu",
          task: async (_ctx, task) => {
            const image = result.qemu?.path ?? "";
            // Beside the bake log, not in the work dir: a failed test's serial log and report must outlive the cleanup below.
            const testDir = path.join(path.dirname(paths.logPath), `${identity.name}.test`);
            try {
              test = await timed("test", () => bootTest(deps, image, manifest.kind, manifest.arch, testDir, signal));
            } catch (error) {
              if (error instanceof WorkError && error.code === "ETEST") throw new WorkError("ETEST", `${error.message}\n(the image is kept, not published)`, error.data, { logPath: error.logPath });
              throw error;
            }
            task.title = `boot test: ${test.checks?.length ?? 0} checks passed in ${(test.seconds ?? 0).toFixed(0)} s`;
          },
        },
      ],
      taskListOptions({ plain }),
    ).run();
  } finally {
    await rm(paths.workDir, { recursive: true, force: true });
    await removeScratch(flags.out, identity);
  }
  const seconds = (Date.now() - started) / 1000;
  const record = imageRecord(settings, identity, result, seconds, test);
  await publishImage(flags.out, record, { allowUntested: flags.allowUntested });
  return { skipped: false, tested: test.tested, record, imagesFile, logPath: paths.logPath, seconds, steps };
}

export function register(program: Command): Command {
  const command = program
    .command("build")
    .description("Bake an image per kind x arch x target with Packer and publish its ID")
    .requiredOption("--kind <kind>", "knd or knc", parseKind)
    .requiredOption("--arch <arch>", "amd64 or arm64", parseArch)
    .addOption(new Option("--target <target>", "where the image goes").choices(["qemu", "aws"]).default("qemu"))
    .addOption(new Option("--base <base>", "qemu base: Debian's genericcloud qcow2, or one built from the archive with mmdebstrap").choices(["cloud", "debootstrap"]).default("cloud"))
    .option("--manifests <dir>", "directory of lock manifests", DEFAULT_MANIFESTS_DIR)
    .option("--out <dir>", "where images/, logs/, images.json and images.auto.tfvars.json go", "out")
    .option("--force", "bake even when images.json already has this image")
    .option("--skip-test", "do not boot the image after the bake (images.json records it as not boot-tested)")
    .option("--allow-untested", "let images.auto.tfvars.json point at images that were not boot-tested (every aws image, today)")
    .option("--region <region>", "aws: the region to build in", "us-east-1")
    .option("--ami-regions <regions>", "aws: copy the AMI to these regions, comma-separated", list)
    .option("--ami-users <ids>", "aws: account IDs allowed to launch the AMI, comma-separated", list)
    .option("--ami-groups <groups>", "aws: groups allowed to launch the AMI (e.g. all), comma-separated", list)
    .option("--kms-key-id <arn>", "aws: KMS key of the encrypted boot volume (required to share the AMI with --ami-users/--ami-groups)")
    .option("--json", "print one JSON document on stdout")
    .addHelpText(
      "after",
      `
The image name is podplane-<kind>-<os>-<arch>-<short input hash>; the input hash covers the
lock entries of the kind/arch, the vmconfig archive, the Packer template and scripts, the
base image digest and the image-format version. When images.json in --out already has that
image for the target, build prints it and exits 0 without starting Packer (--force rebuilds);
if that image was never boot-tested (baked with --skip-test), build boots it now instead.
images.json records per image whether it was boot-tested, when, which checks and the result;
aws images are not boot-tested here, and images.auto.tfvars.json points only at boot-tested
images unless --allow-untested.

Environment:
  PODPLANE_IMAGES_CACHE   default for --cache      PODPLANE_IMAGES_MIRROR  default for --mirror
  PODPLANE_ACCEL          kvm|tcg: skip the accelerator probe
  PODPLANE_PACKER         the packer binary (default: packer on PATH)
  PODPLANE_DEBIAN_MIRROR  Debian archive for the debootstrap base
${EXIT_CODES_HELP}`,
    );
  addMirrorOption(command);
  addCacheOption(command);
  return command.action(async (raw: BuildFlags) => {
    const flags = { ...raw, out: path.resolve(raw.out), manifests: path.resolve(raw.manifests) };
    if (flags.target === "aws" && flags.base === "debootstrap") throw new UsageError("--base debootstrap applies to --target qemu only (aws starts from the official Debian AMI)");
    if (flags.target === "aws" && (flags.amiUsers?.length || flags.amiGroups?.length) && !flags.kmsKeyId) {
      throw new UsageError("--ami-users/--ami-groups share an encrypted AMI: give --kms-key-id (a key those accounts may use); the default EBS key cannot be shared");
    }
    const outcome = await withInterrupts((signal) => runBuild(flags, signal));
    if (flags.json) {
      printJson({ ok: true, skipped: outcome.skipped, tested: outcome.tested, test: describeTest(outcome.record), seconds: outcome.seconds, steps: outcome.steps, imagesFile: outcome.imagesFile, logPath: outcome.logPath ?? null, image: outcome.record });
      return;
    }
    const what = outcome.tested && outcome.skipped ? "already built (images.json), boot-tested now" : outcome.skipped ? "already built (images.json), skipped" : `built in ${outcome.seconds.toFixed(0)} s`;
    printLine(`${outcome.record.name} (${outcome.record.target}): ${what}: ${describeRecord(outcome.record)}; ${describeTest(outcome.record)}`);
  });
}
