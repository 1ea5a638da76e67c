// `build`: bake one image per kind × arch × target of the selection and publish each to
// images.json. The plan (pipeline/plan) decides and does the work; this command parses the
// flags and renders the outcome: a line per image and a summary table, or one JSON document.
import path from "node:path";
import { Option, type Command } from "commander";
import { DEFAULT_MANIFESTS_DIR, parseArches, parseKinds, parsePositiveInt, parseTargets } from "../cli/options.js";
import { formatBytes, printError, printJson, printLine } from "../cli/output.js";
import { describeError, UsageError } from "../errors/index.js";
import type { BaseKind } from "../image/base-choice.js";
import type { Arch, Kind } from "../manifest/schema.js";
import type { Target } from "../packer/vars.js";
import { computePlan } from "../plan/plan.js";
import { loadSigningKey } from "../provenance/keys.js";
import { DEFAULT_ARCHES, DEFAULT_TARGETS } from "../plan/selectors.js";
import { summaryTable } from "../plan/format.js";
import type { EntryResult, RunDeps, RunSummary } from "../plan/run.js";
import { withInterrupts } from "../progress/signals.js";
import { describeTest, type ImageRecord } from "../publish/images-json.js";
import { parsePublishUrl } from "../publish/podplane-manifest.js";
import type { RegistryMirrors } from "../oci/registry-mirrors.js";
import { EXIT_CODES_HELP, addCacheOption, addMirrorOption, addRegistryMirrorOption } from "./fetch.js";

export interface BuildFlags {
  /** Absent: every kind that has a manifest for the selected arches. */
  kind?: Kind[];
  arch: Arch[];
  target: Target[];
  base: BaseKind;
  manifests: string;
  mirror?: string;
  /** --registry-mirror: registry → registry mirror base URL. */
  registryMirror?: RegistryMirrors;
  cache: string;
  out: string;
  jobs: number;
  force?: boolean;
  skipTest?: boolean;
  allowUntested?: boolean;
  json?: boolean;
  region: string;
  amiRegions?: string[];
  amiUsers?: string[];
  amiGroups?: string[];
  kmsKeyId?: string;
  publishUrl?: string;
  /** PEM private key file that signs each image's provenance (else $PODPLANE_IMAGES_SIGNING_KEY). */
  signingKey?: string;
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

/** Bad combinations of flags (exit 2) before any work. */
export function checkBuildFlags(flags: Pick<BuildFlags, "base" | "target" | "amiUsers" | "amiGroups" | "kmsKeyId">): void {
  if (flags.base === "debootstrap" && !flags.target.includes("qemu")) {
    throw new UsageError("--base debootstrap applies to --target qemu only (aws starts from the official Debian AMI)");
  }
  if (flags.target.includes("aws") && (flags.amiUsers?.length || flags.amiGroups?.length) && !flags.kmsKeyId) {
    throw new UsageError("--ami-users/--ami-groups share an encrypted AMI: give --kms-key-id (a key those accounts may use); the default EBS key cannot be shared");
  }
}

/**
 * Plans the selection and carries the plan out. An unchanged selection returns from the plan
 * alone: nothing is built, fetched, written, and the bake modules are never loaded.
 */
export async function runBuild(flags: BuildFlags, signal: AbortSignal, deps?: Partial<RunDeps>): Promise<RunSummary> {
  const started = Date.now();
  // A bad key is refused before any work (exit 2), also when nothing is left to bake.
  const signer = await loadSigningKey(flags.signingKey);
  const plan = await computePlan(
    { kinds: flags.kind, arches: flags.arch, targets: flags.target },
    { manifests: flags.manifests, out: flags.out, cache: flags.cache, base: flags.base, force: flags.force, skipTest: flags.skipTest },
  );
  if (plan.entries.every((e) => e.action === "skip")) {
    const results: EntryResult[] = plan.entries.map((e) => ({ kind: e.kind, arch: e.arch, os: e.os, target: e.target, name: e.name, inputHash: e.inputHash, action: e.action, result: "skipped", seconds: 0, steps: {}, logPath: null, record: e.existing }));
    return { ok: true, seconds: (Date.now() - started) / 1000, imagesFile: path.join(flags.out, "images.json"), results };
  }
  // Missing emulators, firmware or qemu-user: exit 2 before anything is fetched or built.
  const { assertHostReady } = await import("../boot/preflight.js");
  await assertHostReady(plan.entries.map((e) => ({ arch: e.arch, target: e.target, action: e.action, buildsBase: e.base.digest === null })));
  const { executePlan, DEFAULT_RUN_DEPS } = await import("../plan/run.js");
  const summary = await executePlan(
    plan,
    {
      mirror: flags.mirror,
      registryMirrors: flags.registryMirror,
      jobs: flags.jobs,
      allowUntested: flags.allowUntested,
      json: Boolean(flags.json),
      packerBin: process.env.PODPLANE_PACKER ?? "packer",
      publishUrl: flags.publishUrl,
      signer,
      aws: { region: flags.region, amiRegions: flags.amiRegions, amiUsers: flags.amiUsers, amiGroups: flags.amiGroups, kmsKeyId: flags.kmsKeyId },
      signal,
    },
    { ...DEFAULT_RUN_DEPS, ...deps },
  );
  return { ...summary, seconds: (Date.now() - started) / 1000 };
}

function errorJson(error: unknown) {
  if (error === undefined) return null;
  const e = error as { code?: string; message?: string; logPath?: string };
  return { code: e.code ?? "EUNEXPECTED", message: e.message ?? describeError(error).join("\n"), logPath: e.logPath ?? null, lines: describeError(error) };
}

/** One result as data: the summary row plus the record images.json now holds. */
export function resultJson(r: EntryResult) {
  return {
    name: r.name,
    kind: r.kind,
    arch: r.arch,
    os: r.os,
    target: r.target,
    inputHash: r.inputHash,
    action: r.action,
    result: r.result,
    /** Not baked by this run (already in images.json). */
    skipped: r.result === "skipped" || r.action === "test",
    /** Boot-tested by this run. */
    tested: r.result === "tested" || (r.result === "built" && r.record?.test?.tested === true),
    seconds: Math.round(r.seconds * 10) / 10,
    steps: r.steps,
    logPath: r.logPath,
    test: r.record ? describeTest(r.record) : null,
    image: r.record ?? null,
    error: errorJson(r.error),
  };
}

function describeResult(r: EntryResult): string {
  const name = `${r.name ?? `${r.kind} ${r.arch}`} (${r.target})`;
  switch (r.result) {
    case "skipped":
      return `${name}: already built (images.json), skipped${r.record ? `: ${describeRecord(r.record)}; ${describeTest(r.record)}` : ""}`;
    case "tested":
      return `${name}: already built (images.json), boot-tested now${r.record ? `: ${describeRecord(r.record)}; ${describeTest(r.record)}` : ""}`;
    case "built":
      return `${name}: built in ${r.seconds.toFixed(0)} s${r.record ? `: ${describeRecord(r.record)}; ${describeTest(r.record)}` : ""}`;
    case "failed":
      return `${name}: FAILED after ${r.seconds.toFixed(0)} s`;
    case "cancelled":
      return `${name}: not started (interrupted)`;
  }
}

/** Prints the outcome; every failure's lines (code, message, log) also go to stderr. */
export function renderSummary(summary: RunSummary, json: boolean): void {
  for (const r of summary.results.filter((x) => x.result === "failed")) {
    const [first = "", ...rest] = describeError(r.error);
    printError(`${r.name ?? `${r.kind} ${r.arch}`} (${r.target}): ${first}`);
    for (const line of rest) printError(line);
  }
  if (json) {
    printJson({ ok: summary.ok, seconds: Math.round(summary.seconds * 100) / 100, imagesFile: summary.imagesFile, results: summary.results.map(resultJson) });
    return;
  }
  for (const r of summary.results) printLine(describeResult(r));
  printLine();
  for (const line of summaryTable(summary.results)) printLine(line);
}

export function register(program: Command): Command {
  const command = program
    .command("build")
    .description("Bake an image per kind x arch x target with Packer and publish its ID")
    .option("--kind <kinds>", "VM kinds, comma-separated: knd,knc (default: every kind with a manifest)", parseKinds)
    .option("--arch <arches>", "architectures, comma-separated: amd64,arm64", parseArches, [...DEFAULT_ARCHES])
    .option("--target <targets>", "where the images go, comma-separated: qemu,aws", parseTargets, [...DEFAULT_TARGETS])
    .addOption(new Option("--base <base>", "qemu base: Debian's genericcloud qcow2, or one built from the archive with mmdebstrap").choices(["cloud", "debootstrap"]).default("cloud"))
    .option("--manifests <dir>", "directory of lock manifests", DEFAULT_MANIFESTS_DIR)
    .option("--out <dir>", "where images/, logs/, images.json and images.auto.tfvars.json go", "out")
    .option("--jobs <n>", "images baked at once (each bake is a VM: mind the cores under TCG)", parsePositiveInt, 1)
    .option("--force", "bake even when images.json already has the image")
    .option("--skip-test", "do not boot the images after the bake (images.json records them as not boot-tested)")
    .option("--allow-untested", "let images.auto.tfvars.json point at images that were not boot-tested (every aws image, today)")
    .option("--region <region>", "aws: the region to build in", "us-east-1")
    .option("--ami-regions <regions>", "aws: copy the AMI to these regions, comma-separated", list)
    .option("--ami-users <ids>", "aws: account IDs allowed to launch the AMI, comma-separated", list)
    .option("--ami-groups <groups>", "aws: groups allowed to launch the AMI (e.g. all), comma-separated", list)
    .option("--kms-key-id <arn>", "aws: KMS key of the encrypted boot volume (required to share the AMI with --ami-users/--ami-groups)")
    .option("--publish-url <url>", "qemu: the base URL the qcow2s will be served under, for os.image.url in the Podplane manifest beside each (default: file:/// paths)", parsePublishUrl)
    .option("--signing-key <file>", "PEM private key (Ed25519 or ECDSA P-256) that signs each image's provenance statement (env PODPLANE_IMAGES_SIGNING_KEY: a path or the PEM text; default: unsigned)")
    .option("--json", "print one JSON document on stdout")
    .addHelpText(
      "after",
      `
Each selector is a comma list; the build covers every kind × arch × target of it (see \`plan\`).
The image name is podplane-<kind>-<os>-<arch>-<short input hash>; the input hash covers the
lock entries of the kind/arch, the vmconfig archive, the Packer template and scripts, the
base image digest and the image-format version. An image that images.json in --out already
has for its target is skipped without starting Packer (--force rebuilds); if it was never
boot-tested (baked with --skip-test), build boots it now instead. The artifacts of every
image to bake are fetched once, then the images are baked (--jobs at a time), each published
as it finishes; a failed image does not stop the others. At the end: a line per image and a
table (name, target, result, seconds, log); exit 1 if any image failed.
images.json records per image whether it was boot-tested, when, which checks and the result;
aws images are not boot-tested here, and images.auto.tfvars.json points only at boot-tested
images unless --allow-untested.
The pinned container images are fetched with the artifacts; --registry-mirror REGISTRY=URL
reads those of REGISTRY from the registry at URL instead (see fetch --help).
Each baked image gets an in-toto provenance statement (SLSA v1) beside it in images/,
<name>.intoto.jsonl, signed with --signing-key when given; \`verify-image\` checks it.

Environment:
  PODPLANE_IMAGES_CACHE   default for --cache      PODPLANE_IMAGES_MIRROR  default for --mirror
  PODPLANE_ACCEL          kvm|tcg: skip the accelerator probe
  PODPLANE_PACKER         the packer binary (default: packer on PATH)
  PODPLANE_DEBIAN_MIRROR  Debian archive for the debootstrap base
  PODPLANE_IMAGES_SIGNING_KEY  default for --signing-key: a PEM file path or the PEM text
${EXIT_CODES_HELP}`,
    );
  addMirrorOption(command);
  addRegistryMirrorOption(command);
  addCacheOption(command);
  return command.action(async (raw: BuildFlags) => {
    const flags = { ...raw, out: path.resolve(raw.out), manifests: path.resolve(raw.manifests) };
    checkBuildFlags(flags);
    const summary = await withInterrupts((signal) => runBuild(flags, signal));
    renderSummary(summary, Boolean(flags.json));
    if (!summary.ok) process.exitCode = 1;
  });
}
