// images.json: every image built, keyed by name + target, merged and written atomically.
// Nstance templates and nightly CI read it; images.auto.tfvars.json and the Nstance fragments
// (nstance-images.<region>.json) are derived from it by writeDerivedFiles.
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { WorkError } from "../errors/index.js";
import type { LockFile } from "../manifest/schema.js";
import { writeFileAtomic } from "./atomic-write.js";
import { withFileLock } from "./lock.js";
import { nstanceFileName, nstanceFragments, removeStaleFragments, resolveAwsOwner, type NstanceSource } from "./nstance.js";

export const IMAGES_FILE = "images.json";
export const TFVARS_FILE = "images.auto.tfvars.json";
export const IMAGES_FILE_VERSION = 1;

export interface ImageDependency {
  name: string;
  version: string;
  digest: string;
}

export interface QemuImageId {
  /** Absolute path of the qcow2. */
  path: string;
  /** `sha256:<hex>` of the qcow2 */
  digest: string;
}

export interface ImageRecord {
  name: string;
  kind: string;
  arch: string;
  os: string;
  target: "qemu" | "aws";
  inputHash: string;
  /** qemu: the qcow2; aws: AMI ID per region. */
  qemu?: QemuImageId;
  amis?: Record<string, string>;
  dependencies: ImageDependency[];
  vmconfigDigest: string;
  baseImage: { source: string; digest: string };
  size: number;
  buildSeconds: number;
  packerVersion: string;
  createdAt: string;
  /** Whether, when and how the image was boot-tested; absent on records from before it was kept. */
  test?: ImageTestRecord;
  /** qemu: direct kernel boot of the qcow2, in the lock manifests' os.boot shape, read from the baked image. */
  boot?: NonNullable<LockFile["vmconfig"]["os"]["boot"]>;
  /** qemu: the Podplane lock manifest written beside the qcow2 (its os.image is this qcow2). */
  podplaneManifest?: string;
  /** `<name>.release-notes.md`: the diff against the previous image of its kind/os/arch/target (pipeline/diff). */
  releaseNotes?: string;
  /** The image's SBOMs (absolute paths): SPDX 2.3 JSON and CycloneDX 1.6 JSON, beside the qcow2 (aws: in the --out dir). */
  sbom?: { spdx: string; cyclonedx: string };
  /** The image's provenance statement (a DSSE envelope, `<name>.intoto.jsonl`) and whether it is signed; absent on records from before it was written. */
  provenance?: ImageProvenance;
}

/** Where an image's in-toto provenance is, and the key that signed it (sha256 of its SPKI DER). */
export interface ImageProvenance {
  path: string;
  signed: boolean;
  keyid?: string;
}

/** The boot test of one image, as images.json keeps it. */
export interface ImageTestRecord {
  tested: boolean;
  /** Why not, when not tested ("--skip-test", "aws images are not boot-tested here"). */
  reason?: string;
  /** ISO time the test finished. */
  at?: string;
  ok?: boolean;
  checks?: Array<{ name: string; ok: boolean }>;
  seconds?: number;
  logPath?: string;
}

/** Booted and passed every check. Records without a test status count as untested. */
export function isBootTested(record: Pick<ImageRecord, "test">): boolean {
  return record.test?.tested === true && record.test.ok === true;
}

export function describeTest(record: Pick<ImageRecord, "test" | "target">): string {
  const t = record.test;
  if (!t) return record.target === "aws" ? "not boot-tested here" : "not boot-tested";
  if (!t.tested) return `not boot-tested${t.reason ? ` (${t.reason})` : ""}`;
  const checks = t.checks ?? [];
  const failed = checks.filter((c) => !c.ok).map((c) => c.name);
  return t.ok ? `boot test passed ${checks.length} checks at ${t.at ?? "?"}` : `boot test FAILED at ${t.at ?? "?"} (${failed.join(", ")})`;
}

export interface PublishOptions {
  /** Let the tfvars point at images that were not boot-tested (every aws image, today). */
  allowUntested?: boolean;
  /**
   * AWS account that owns the published AMIs, for the Nstance fragment's `owners`: a 12-digit
   * account ID or "self". Default: $PODPLANE_IMAGES_AWS_OWNER, else "self".
   */
  awsOwner?: string;
}

export interface ImagesFile {
  version: number;
  images: ImageRecord[];
}

export async function readImagesFile(file: string): Promise<ImagesFile> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { version: IMAGES_FILE_VERSION, images: [] };
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new WorkError("EIMAGESJSON", `${file}: expected JSON, found a syntax error; fix or remove it`, { file }, { cause: error });
  }
  const doc = parsed as Partial<ImagesFile>;
  if (!doc || typeof doc !== "object" || !Array.isArray(doc.images)) {
    throw new WorkError("EIMAGESJSON", `${file}: expected {"version": ${IMAGES_FILE_VERSION}, "images": [...]}`, { file });
  }
  return { version: doc.version ?? IMAGES_FILE_VERSION, images: doc.images };
}

export function findImage(doc: ImagesFile, name: string, target: string): ImageRecord | undefined {
  return doc.images.find((i) => i.name === name && i.target === target);
}

function compareRecords(a: ImageRecord, b: ImageRecord): number {
  const ka = [a.kind, a.arch, a.target, a.createdAt, a.name].join("\0");
  const kb = [b.kind, b.arch, b.target, b.createdAt, b.name].join("\0");
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Adds or replaces the record with the same name and target; keeps every other one. */
export function mergeImage(doc: ImagesFile, record: ImageRecord): ImagesFile {
  const images = doc.images.filter((i) => !(i.name === record.name && i.target === record.target));
  images.push(record);
  return { version: IMAGES_FILE_VERSION, images: images.sort(compareRecords) };
}

/**
 * kind → arch → region → AMI of the newest boot-tested aws image of each kind/arch; with
 * allowUntested, the newest of any. An untested image is never the default pointer otherwise.
 */
export function tfvarsFor(doc: ImagesFile, options: PublishOptions = {}): { podplane_images: Record<string, Record<string, Record<string, string>>> } {
  const out: Record<string, Record<string, Record<string, string>>> = {};
  const newestFirst = doc.images
    .filter((i) => i.target === "aws" && i.amis && (options.allowUntested === true || isBootTested(i)))
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  for (const image of newestFirst) {
    const byArch = (out[image.kind] ??= {});
    byArch[image.arch] ??= { ...image.amis };
  }
  return { podplane_images: out };
}

/**
 * The aws images the derived files point at: per kind/os/arch the newest one the tfvars rule
 * allows (boot-tested, or any with allowUntested).
 */
function pointedAt(doc: ImagesFile, options: PublishOptions): NstanceSource[] {
  const newest = new Map<string, NstanceSource>();
  const newestFirst = doc.images
    .filter((i) => i.target === "aws" && i.amis && (options.allowUntested === true || isBootTested(i)))
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  for (const image of newestFirst) {
    const key = [image.kind, image.os, image.arch].join("\0");
    if (!newest.has(key)) newest.set(key, { kind: image.kind, os: image.os, arch: image.arch, amis: { ...image.amis } });
  }
  return [...newest.values()];
}

export interface DerivedFiles {
  tfvarsFile: string;
  /** `nstance-images.<region>.json`, one per region an aws image the tfvars point at is in. */
  nstanceFiles: string[];
}

/** One derived file's path and bytes. */
export interface DerivedFile {
  file: string;
  content: string;
}

/**
 * Every file derived from the whole images.json, computed without writing anything, so that bad
 * input (a bad owner account, a corrupt region or AMI ID) is refused before any file changes:
 * the tfvars first, then one Nstance fragment per region.
 */
export function deriveFiles(dir: string, doc: ImagesFile, options: PublishOptions = {}): DerivedFile[] {
  const files: DerivedFile[] = [{ file: path.join(dir, TFVARS_FILE), content: `${JSON.stringify(tfvarsFor(doc, options), null, 2)}\n` }];
  const sources = pointedAt(doc, options);
  if (sources.length === 0) return files;
  for (const [region, fragment] of nstanceFragments(sources, resolveAwsOwner(options.awsOwner))) {
    files.push({ file: path.join(dir, nstanceFileName(region)), content: `${JSON.stringify(fragment, null, 2)}\n` });
  }
  return files;
}

async function writeDerived(dir: string, files: readonly DerivedFile[]): Promise<DerivedFiles> {
  await mkdir(dir, { recursive: true });
  for (const { file, content } of files) await writeFileAtomic(file, content);
  const [tfvars, ...nstance] = files;
  await removeStaleFragments(dir, new Set(nstance.map((f) => path.basename(f.file))));
  return { tfvarsFile: tfvars?.file ?? path.join(dir, TFVARS_FILE), nstanceFiles: nstance.map((f) => f.file) };
}

/**
 * Regenerates every file derived from the whole images.json, each atomically: the tfvars and
 * the Nstance fragments (fragments of regions no longer published are removed). publish and
 * `images merge` both call this, so the derived files never disagree with images.json. The
 * caller holds the images.json lock.
 */
export async function writeDerivedFiles(dir: string, doc: ImagesFile, options: PublishOptions = {}): Promise<DerivedFiles> {
  return writeDerived(dir, deriveFiles(dir, doc, options));
}

/** Merges `record` into `<dir>/images.json` and regenerates the derived files, all atomically. */
export async function publishImage(dir: string, record: ImageRecord, options: PublishOptions = {}): Promise<{ imagesFile: string } & DerivedFiles> {
  const imagesFile = path.join(dir, IMAGES_FILE);
  await mkdir(dir, { recursive: true });
  return withFileLock(`${imagesFile}.lock`, async () => {
    const doc = mergeImage(await readImagesFile(imagesFile), record);
    const derived = deriveFiles(dir, doc, options);
    await writeFileAtomic(imagesFile, `${JSON.stringify(doc, null, 2)}\n`);
    return { imagesFile, ...(await writeDerived(dir, derived)) };
  });
}
