// The build plan: which images a selection of kind × arch × target means, their input hashes
// and names, and what a build would do with each (skip, bake, or boot-test an image baked with
// --skip-test). Computed from the manifests, the repository and images.json without side
// effects: nothing is built, fetched or written.
import { stat } from "node:fs/promises";
import path from "node:path";
import { UsageError } from "../errors/index.js";
import { plannedBase, type BaseChoice, type BaseKind, type PendingBase } from "../image/base-choice.js";
import { computeInputHash, imageName } from "../image/input-hash.js";
import { loadManifests, type Manifest } from "../manifest/load.js";
import { KINDS } from "../manifest/schema.js";
import type { Target } from "../packer/vars.js";
import { IMAGES_FILE, findImage, isBootTested, readImagesFile, type ImageRecord, type ImagesFile } from "../publish/images-json.js";
import { sharedInputs, type SharedInputs } from "./inputs.js";
import type { Selection } from "./selectors.js";

export type PlanAction = "skip" | "bake" | "test";

export interface PlanOptions {
  manifests: string;
  /** Where images.json is (build's --out). */
  out: string;
  cache: string;
  /** qemu base; aws always starts from the official Debian AMI. */
  base: BaseKind;
  force?: boolean | undefined;
  skipTest?: boolean | undefined;
}

/** One image of the plan. `name`/`inputHash` are null while its base is not built yet. */
export interface PlanEntry {
  kind: Manifest["kind"];
  arch: Manifest["arch"];
  os: string;
  target: Target;
  name: string | null;
  inputHash: string | null;
  base: BaseChoice | PendingBase;
  action: PlanAction;
  /** Why this action, in a few words. */
  reason: string;
  /** The images.json record the action is based on, when there is one. */
  existing?: ImageRecord | undefined;
  /** The lock manifest the entry bakes (not part of the plan's data output). */
  manifest: Manifest;
}

export interface BuildPlan {
  inputs: SharedInputs;
  options: PlanOptions;
  entries: PlanEntry[];
}

async function present(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** What a build does with an entry whose name is known, given what images.json records. */
export async function decideAction(record: ImageRecord | undefined, target: Target, options: Pick<PlanOptions, "force" | "skipTest">): Promise<{ action: PlanAction; reason: string }> {
  if (options.force) return { action: "bake", reason: "--force" };
  if (!record) return { action: "bake", reason: "not in images.json" };
  // A recorded qcow2 that is gone is not a reason to skip.
  if (record.qemu && !(await present(record.qemu.path))) return { action: "bake", reason: `in images.json, but ${record.qemu.path} is gone` };
  if (target === "qemu" && record.qemu && !isBootTested(record) && !options.skipTest) {
    return { action: "test", reason: record.test?.tested ? "built; its last boot test failed" : "built, never boot-tested" };
  }
  return { action: "skip", reason: isBootTested(record) ? "built and boot-tested" : "built (not boot-tested)" };
}

/** Resolves one entry against images.json; `base` may still be pending (then it bakes). */
export async function planEntry(manifest: Manifest, target: Target, base: BaseChoice | PendingBase, inputs: SharedInputs, images: ImagesFile, options: PlanOptions): Promise<PlanEntry> {
  const common = { kind: manifest.kind, arch: manifest.arch, os: manifest.os, target, base, manifest };
  if (base.digest === null) return { ...common, name: null, inputHash: null, action: "bake", reason: "its base is not built yet" };
  // The same hash resolveIdentity computes when it packs vmconfig for the bake.
  const inputHash = computeInputHash({ manifest, vmconfigDigest: inputs.vmconfigDigest, templateDigest: inputs.templateDigest, baseImage: base.digest, target });
  const name = imageName(manifest, inputHash);
  const existing = findImage(images, name, target);
  const { action, reason } = await decideAction(existing, target, options);
  return { ...common, name, inputHash, action, reason, existing };
}

/**
 * The manifests a selection covers. Named kinds must all have a manifest for every named arch
 * (else exit 2 naming what is missing); with no kinds given, every kind that has one.
 */
export async function selectManifests(selection: Selection, dir: string): Promise<Manifest[]> {
  const manifests = await loadManifests(dir, { kinds: selection.kinds, arches: selection.arches });
  if (selection.kinds) {
    const missing = selection.kinds.flatMap((kind) => selection.arches.filter((arch) => !manifests.some((m) => m.kind === kind && m.arch === arch)).map((arch) => `${kind} ${arch}`));
    if (missing.length > 0) throw new UsageError(`${dir}: no manifest for ${missing.join(", ")}`, "EMANIFEST");
  }
  return manifests;
}

export async function computePlan(selection: Selection, options: PlanOptions): Promise<BuildPlan> {
  const [manifests, inputs, images] = await Promise.all([selectManifests(selection, options.manifests), sharedInputs(), readImagesFile(path.join(options.out, IMAGES_FILE))]);
  const entries: PlanEntry[] = [];
  for (const manifest of manifests) {
    for (const target of selection.targets) {
      entries.push(await planEntry(manifest, target, await plannedBase(manifest, target, options.base, options.cache), inputs, images, options));
    }
  }
  return { inputs, options, entries: entries.sort(compareEntries) };
}

/** A stable order: kind (knd first), arch, os, target. */
function compareEntries(a: PlanEntry, b: PlanEntry): number {
  const ka = [KINDS.indexOf(a.kind), a.arch, a.os, a.target].join("\0");
  const kb = [KINDS.indexOf(b.kind), b.arch, b.os, b.target].join("\0");
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** "knd amd64 qemu" (and the OS when it is not the only one). */
export function entryLabel(entry: Pick<PlanEntry, "kind" | "arch" | "target">): string {
  return `${entry.kind} ${entry.arch} ${entry.target}`;
}
