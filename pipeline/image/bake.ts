// One bake: kind × arch × target. Resolves the image identity (base, vmconfig, template →
// input hash → name), stages, runs Packer and makes the images.json record. The steps are
// plain functions; the build plan (pipeline/plan) decides which bakes run and runs them.
import { appendFile, mkdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { buildDebootstrapBase } from "../base/index.js";
import { assertEmulator, chooseAccelerator } from "../boot/emulator.js";
import { WorkError } from "../errors/index.js";
import type { FetchedArtifact } from "../fetch/index.js";
import type { Manifest } from "../manifest/load.js";
import { listImageContent } from "../oci/index.js";
import {
  PROVISIONER_SCRIPTS_DIR,
  detectPacker,
  packerBuild,
  packerInit,
  packerValidate,
  readLastBuild,
  parseAmiArtifactId,
  datasourcesFor,
  escapePacker,
  templateDigest,
  writeTemplate,
  writeVarFile,
  type AwsSettings,
  type Progress,
  type Target,
} from "../packer/index.js";
import type { ImageRecord, ImageTestRecord } from "../publish/index.js";
import { bootRecordOf, withMounted } from "../inspect/index.js";
import { writePodplaneManifest, type OsBoot } from "../publish/podplane-manifest.js";
import { AWS_DPKG_STATUS_FILE, imagePackagesOf, writeImageSbom, type SbomFiles } from "../sbom/index.js";
import { verifyStageIso, writeStage, writeStageIso, type Stage } from "../stage/index.js";
import { packVmconfig, type PackedVmconfig } from "../vmconfig/index.js";
import { awsBase, cloudBase, type BaseChoice, type BaseKind } from "./base-choice.js";
import { followConsole, requireBakeSuccess } from "./bake-result.js";
import { writeBakeScripts } from "./bake-scripts.js";
import { buildVmBoot } from "./build-vm-boot.js";
import { fileSha256 } from "./file-digest.js";
import { computeInputHash, imageName } from "./input-hash.js";

export interface BakeSettings {
  manifest: Manifest;
  target: Target;
  base: BaseKind;
  outDir: string;
  cacheDir: string;
  aws?: AwsSettings;
  packerBin?: string;
  signal?: AbortSignal | undefined;
  /** The base URL the qcow2s will be served under (build --publish-url); default file:/// URLs. */
  publishUrl?: string | undefined;
}

export interface Identity {
  base: BaseChoice;
  vmconfig: PackedVmconfig;
  templateDigest: string;
  inputHash: string;
  name: string;
}

export interface BakePaths {
  workDir: string;
  stageDir: string;
  packerDir: string;
  outputDir: string;
  logPath: string;
  /** The qemu build VM's serial console: the guest's whole bake, line by line. */
  serialLogPath: string;
  manifestPath: string;
  imagesDir: string;
}

export function bakePaths(outDir: string, name: string): BakePaths {
  const workDir = path.join(outDir, ".work", name);
  return {
    workDir,
    stageDir: path.join(workDir, "stage"),
    packerDir: path.join(workDir, "packer"),
    outputDir: path.join(workDir, "packer", "output"),
    logPath: path.join(outDir, "logs", `${name}.log`),
    serialLogPath: path.join(outDir, "logs", `${name}.console.log`),
    manifestPath: path.join(workDir, "packer", "packer-manifest.json"),
    imagesDir: path.join(outDir, "images"),
  };
}

export { DEBIAN_AMI_OWNER, cachedDebootstrapBase, plannedBase, type BaseChoice, type BaseKind, type PendingBase } from "./base-choice.js";

export async function resolveBase(s: BakeSettings, onLine?: (line: string) => void): Promise<BaseChoice> {
  const m = s.manifest;
  if (s.target === "aws") return awsBase(m);
  if (s.base === "cloud") return cloudBase(m);
  const built = await buildDebootstrapBase({ cacheDir: s.cacheDir, arch: m.arch, signal: s.signal, onLine });
  return { source: `debootstrap:${path.basename(built.path)}`, digest: built.digest, path: built.path, cacheHit: built.cacheHit };
}

/** Packs vmconfig into the scratch dir (one file per caller: `tag` keeps concurrent bakes apart) and names the image. */
export async function resolveIdentity(s: BakeSettings, base: BaseChoice, tag = ""): Promise<Identity> {
  const vmconfigDir = path.join(s.outDir, ".work", "vmconfig");
  await mkdir(vmconfigDir, { recursive: true });
  const vmconfig = await packVmconfig({ outFile: path.join(vmconfigDir, `vmconfig-${process.pid}${tag ? `-${tag}` : ""}.tar.gz`) });
  const template = await templateDigest();
  const inputHash = computeInputHash({ manifest: s.manifest, vmconfigDigest: vmconfig.digest, templateDigest: template, baseImage: base.digest, target: s.target });
  return { base, vmconfig, templateDigest: template, inputHash, name: imageName(s.manifest, inputHash) };
}

export async function stageFor(s: BakeSettings, identity: Identity, fetched: readonly FetchedArtifact[]): Promise<Stage> {
  const paths = bakePaths(s.outDir, identity.name);
  // The manifest's container images, fetched with the artifacts, staged for import into containerd.
  const images = await Promise.all(s.manifest.images.map((pin) => listImageContent(s.cacheDir, pin)));
  return writeStage({ dir: paths.stageDir, manifest: s.manifest, fetched, vmconfig: identity.vmconfig, images });
}

export function baseImagePath(s: BakeSettings, identity: Identity, fetched: readonly FetchedArtifact[]): string | undefined {
  if (s.target !== "qemu") return undefined;
  if (identity.base.path) return identity.base.path;
  const found = fetched.find((f) => f.digest === s.manifest.baseImage.digest);
  if (!found) throw new WorkError("EBASE", `the base image ${s.manifest.baseImage.url} is not in the fetch results`, { url: s.manifest.baseImage.url });
  return found.path;
}

export interface PackerResult {
  packerVersion: string;
  accelerator?: string;
  qemu?: { path: string; digest: string; size: number; boot?: OsBoot; podplaneManifest?: string };
  amis?: Record<string, string>;
  /** The image's SPDX and CycloneDX SBOMs (pipeline/sbom). */
  sbom?: SbomFiles;
  seconds: number;
}

function tagsFor(s: BakeSettings, identity: Identity): Record<string, string> {
  const tags: Record<string, string> = {
    Name: identity.name,
    "podplane:kind": s.manifest.kind,
    "podplane:arch": s.manifest.arch,
    "podplane:os": s.manifest.os,
    "podplane:input-hash": identity.inputHash,
    "podplane:vmconfig": identity.vmconfig.digest,
  };
  for (const dep of s.manifest.dependencies.filter((d) => !d.local)) tags[`podplane:dep:${dep.name}`] = dep.version;
  return tags;
}

/** What the SBOM of an image is made from, besides the package list (pipeline/sbom). */
function sbomInputs(s: BakeSettings, identity: Identity) {
  return { name: identity.name, target: s.target, manifest: s.manifest, vmconfigDigest: identity.vmconfig.digest, base: identity.base, workParent: path.join(s.cacheDir, "tmp"), signal: s.signal };
}

/** Lines of the build VM's console worth a progress line: the bake's own steps and its scripts'. */
const CONSOLE_PROGRESS = /^(podplane-[a-z-]+|cleanup-image|validate-image): /;

/**
 * `packer build` of the qemu source while the build VM's console is followed: its bake's lines
 * become progress (Packer itself only waits for the power-off) and go into the bake's log in
 * Packer's machine-readable shape, stamped when they arrived (bench/bake-phases.ts reads them).
 */
async function packerBuildFollowingConsole(runOptions: Parameters<typeof packerBuild>[1], paths: BakePaths, onProgress: (progress: Progress) => void): Promise<void> {
  let logged = Promise.resolve();
  const follower = followConsole(paths.serialLogPath, (line) => {
    if (!CONSOLE_PROGRESS.test(line)) return;
    onProgress({ kind: "message", text: line });
    const stamped = `${String(Math.floor(Date.now() / 1000))},podplane.qemu.podplane,ui,message,    build VM: ${escapePacker(line)}\n`;
    logged = logged.then(() => appendFile(paths.logPath, stamped)).catch(() => undefined);
  });
  try {
    await packerBuild("qemu", runOptions);
  } finally {
    await follower.stop();
    await logged;
  }
}

/** Renders the template and var file, validates, builds; returns what Packer made. */
export async function runPackerBake(
  s: BakeSettings,
  identity: Identity,
  stage: Stage,
  baseImage: string | undefined,
  onProgress: (progress: Progress) => void,
): Promise<PackerResult> {
  const started = Date.now();
  const paths = bakePaths(s.outDir, identity.name);
  await rm(paths.packerDir, { recursive: true, force: true });
  await mkdir(paths.packerDir, { recursive: true });
  await mkdir(path.dirname(paths.logPath), { recursive: true });
  await rm(paths.logPath, { force: true });
  const packer = await detectPacker(s.packerBin);
  onProgress({ kind: "message", text: `Packer ${packer.version}${packer.modern ? " (required_plugins, packer init)" : " (builders built in)"}` });
  await writeTemplate(paths.packerDir, { modern: packer.modern });
  let accelerator: string | undefined;
  let qemu: Parameters<typeof writeVarFile>[1]["qemu"];
  if (s.target === "qemu") {
    if (!baseImage) throw new WorkError("EBASE", "no base image for the qemu target", {});
    await assertEmulator(s.manifest.arch);
    const choice = await chooseAccelerator(s.manifest.arch, { image: baseImage, cacheDir: s.cacheDir, signal: s.signal });
    accelerator = choice.accelerator;
    onProgress({ kind: "message", text: `accelerator ${choice.accelerator} (${choice.reason})` });
    const bakeScripts = await writeBakeScripts(path.join(paths.packerDir, "bake-scripts"), s.manifest.kind, datasourcesFor("qemu"));
    const stageIso = await writeStageIso({ stageDir: paths.stageDir, extraDirs: [bakeScripts], outFile: path.join(paths.packerDir, "stage.iso"), signal: s.signal });
    await verifyStageIso(stageIso, stage.artifacts, s.signal);
    const checksum = baseImage === identity.base.path ? identity.base.digest : s.manifest.baseImage.digest;
    // The bake runs from the build VM's command line: a base whose kernel cannot be read from its
    // disk cannot be baked here (there is no other way in: no SSH).
    const directBoot = await buildVmBoot({ base: baseImage, baseDigest: checksum, cacheDir: s.cacheDir, arch: s.manifest.arch, signal: s.signal });
    onProgress({ kind: "message", text: `the build VM boots the base's kernel directly and bakes by itself (console: ${paths.serialLogPath})` });
    await rm(paths.serialLogPath, { force: true });
    qemu = {
      baseImage,
      baseImageChecksum: checksum,
      outputDir: paths.outputDir,
      accelerator: choice.accelerator,
      stageIso,
      directBoot,
      serialLog: paths.serialLogPath,
    };
  }
  await writeVarFile(paths.packerDir, {
    kind: s.manifest.kind,
    arch: s.manifest.arch,
    os: s.manifest.os,
    imageName: identity.name,
    inputHash: identity.inputHash,
    stageDir: paths.stageDir,
    scriptsDir: PROVISIONER_SCRIPTS_DIR,
    manifestPath: paths.manifestPath,
    tags: tagsFor(s, identity),
    target: s.target,
    qemu,
    aws: s.target === "aws" ? (s.aws ?? { region: "us-east-1" }) : undefined,
  });
  const runOptions = { packerBin: s.packerBin, dir: paths.packerDir, logPath: paths.logPath, signal: s.signal, onProgress };
  try {
    if (packer.modern) await packerInit(runOptions);
    await packerValidate(s.target, runOptions);
    if (s.target === "qemu") {
      await packerBuildFollowingConsole(runOptions, paths, onProgress);
      await requireBakeSuccess(paths.serialLogPath);
    } else {
      await packerBuild(s.target, runOptions);
    }
    const build = await readLastBuild(paths.manifestPath);
    if (s.target === "aws") {
      const amis = parseAmiArtifactId(build.artifactId);
      // No local disk: the package list is the dpkg status the template downloaded from the build instance.
      // An aws image's side files (SBOMs, provenance, release notes) lie in <out>/images/ like a qcow2's.
      const sbom = await writeImageSbom({ ...sbomInputs(s, identity), dir: paths.imagesDir, dpkgStatusFile: path.join(paths.packerDir, AWS_DPKG_STATUS_FILE), amis });
      return { packerVersion: packer.version, amis, sbom, seconds: (Date.now() - started) / 1000 };
    }
    const file = build.files.map((f) => f.name).find((f) => f.endsWith(".qcow2"));
    if (!file) throw new WorkError("EPACKERMANIFEST", `${paths.manifestPath}: the qemu build lists no .qcow2 file`, { files: build.files });
    const produced = path.isAbsolute(file) ? file : path.join(paths.packerDir, file);
    await mkdir(paths.imagesDir, { recursive: true });
    const image = path.join(paths.imagesDir, `${identity.name}.qcow2`);
    await rename(produced, image);
    const [digest, info] = await Promise.all([fileSha256(image), stat(image)]);
    // One read-only mount of the baked image for its os.boot (direct kernel boot) and its dpkg
    // database (the SBOM); then the SBOMs and the Podplane lock manifest beside it.
    const mountOptions = { workParent: path.join(s.cacheDir, "tmp"), signal: s.signal };
    const { boot, packages } = await withMounted(image, mountOptions, async (mounted) => ({
      boot: await bootRecordOf(mounted, image, s.manifest.arch),
      packages: await imagePackagesOf(mounted, image),
    }));
    const sbom = await writeImageSbom({ ...sbomInputs(s, identity), dir: paths.imagesDir, qcow2: { path: image, digest, packages } });
    const podplane = await writePodplaneManifest({ qcow2: image, manifest: s.manifest, boot, publishUrl: s.publishUrl });
    return { packerVersion: packer.version, accelerator, qemu: { path: image, digest, size: info.size, boot, podplaneManifest: podplane.file }, sbom, seconds: (Date.now() - started) / 1000 };
  } catch (error) {
    if (error instanceof WorkError && !error.logPath) {
      throw new WorkError(error.code, error.message, error.data, { cause: error, logPath: paths.logPath });
    }
    throw error;
  } finally {
    // No partial output survives a failure; the log stays.
    await rm(paths.outputDir, { recursive: true, force: true });
    await rm(path.join(paths.packerDir, "stage.iso"), { force: true });
  }
}

/** The test status of an image that was not booted by this build. */
export function untested(target: Target, skipped: boolean): ImageTestRecord {
  return { tested: false, reason: target === "aws" ? "aws images are not boot-tested here" : skipped ? "--skip-test" : "not run" };
}

export function imageRecord(s: BakeSettings, identity: Identity, result: PackerResult, buildSeconds: number, test: ImageTestRecord = untested(s.target, false)): ImageRecord {
  const m = s.manifest;
  return {
    name: identity.name,
    kind: m.kind,
    arch: m.arch,
    os: m.os,
    target: s.target,
    inputHash: identity.inputHash,
    ...(result.qemu ? { qemu: { path: result.qemu.path, digest: result.qemu.digest } } : {}),
    // The record carries the image's os.boot and where its Podplane manifest is.
    ...(result.qemu?.boot ? { boot: result.qemu.boot, podplaneManifest: result.qemu.podplaneManifest } : {}),
    ...(result.amis ? { amis: result.amis } : {}),
    ...(result.sbom ? { sbom: result.sbom } : {}),
    dependencies: m.dependencies.filter((d) => !d.local).map((d) => ({ name: d.name, version: d.version, digest: d.digest })),
    vmconfigDigest: identity.vmconfig.digest,
    baseImage: { source: identity.base.source, digest: identity.base.digest },
    size: result.qemu?.size ?? 0,
    buildSeconds: Math.round(buildSeconds * 10) / 10,
    packerVersion: result.packerVersion,
    createdAt: new Date().toISOString(),
    test,
  };
}
